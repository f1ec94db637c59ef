/// Commands printed for a person to copy: each word quoted for a POSIX shell where it needs it.
public enum ShellWords {
    /// `word` as a shell reads it back: as it is when it is safe, else in single quotes.
    public static func quoted(_ word: String) -> String {
        if !word.isEmpty && word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+,:@=".contains($0) }) { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// The words as one command line.
    public static func command(_ words: [String]) -> String { words.map(quoted).joined(separator: " ") }
}
