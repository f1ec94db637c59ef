/// `1 connection`, `2 connections`: a count with its noun in the right number (English plural
/// with -s, as every noun the reports count takes).
public func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
