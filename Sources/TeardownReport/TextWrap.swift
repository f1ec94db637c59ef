/// Paragraphs for a terminal of a given width.
public enum TextWrap {
    /// `text` in lines of at most `width` columns, broken at spaces (a longer word stands alone);
    /// the first line keeps the text's leading spaces, the later ones are indented by `indent`
    /// spaces, within the width.
    public static func lines(_ text: String, width: Int, indent: Int = 0) -> [String] {
        let lead = String(text.prefix { $0 == " " })
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var current = lead
        var hasWord = false
        for word in text.dropFirst(lead.count).split(separator: " ", omittingEmptySubsequences: false) {
            if hasWord && current.count + 1 + word.count > width {
                lines.append(current)
                current = margin
                hasWord = false
                if word.isEmpty { continue }
            }
            current += hasWord ? " " + word : String(word)
            hasWord = true
        }
        if hasWord { lines.append(current) }
        return lines
    }
}
