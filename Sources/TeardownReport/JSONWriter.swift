/// A minimal JSON text builder: keys in the order written (the contract's order), no Foundation,
/// deterministic output.
struct JSONWriter {
    private(set) var text = ""
    private var needsComma = [false]

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    mutating func beginObject(_ key: String? = nil) {
        if let key { self.key(key) } else { separator() }
        text += "{"
        needsComma.append(false)
    }

    mutating func endObject() {
        needsComma.removeLast()
        text += "}"
    }

    mutating func beginArray(_ key: String? = nil) {
        if let key { self.key(key) } else { separator() }
        text += "["
        needsComma.append(false)
    }

    mutating func endArray() {
        needsComma.removeLast()
        text += "]"
    }

    private mutating func key(_ name: String) {
        separator()
        Self.appendString(name, to: &text)
        text += ":"
    }

    mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { Self.appendString(value, to: &text) } else { text += "null" }
    }

    mutating func field(_ name: String, _ value: Int64) {
        key(name)
        text += String(value)
    }

    mutating func field(_ name: String, _ value: Int) { field(name, Int64(value)) }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    /// A number written verbatim (already formatted, e.g. a timestamp with its precision).
    mutating func field(_ name: String, number: String) {
        key(name)
        text += number
    }

    mutating func element(_ value: String) {
        separator()
        Self.appendString(value, to: &text)
    }

    static func appendString(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
