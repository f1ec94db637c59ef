/// A one-line status on standard error that is redrawn in place; only on a terminal.
final class Progress {
    let enabled: Bool
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ text: String) {
        guard enabled else { return }
        Console.writeAll("\r\u{1B}[K\(text)", to: 2)
        shown = true
    }

    func clear() {
        guard enabled, shown else { return }
        Console.writeAll("\r\u{1B}[K", to: 2)
        shown = false
    }
}
