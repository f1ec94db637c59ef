/// The parts of one direction's sequence space that carried payload, so that every byte is counted
/// once however often it is retransmitted or duplicated (contract 1.3).
///
/// Positions are unwrapped 64-bit offsets (see ``EndpointState``). The highest run is kept inline:
/// in-order data and retransmissions of it never touch the heap. Runs below it (left by a gap, i.e.
/// packets missing from the capture) go to `lower`, which is bounded: past ``maximumRuns`` the
/// lower runs are merged into one, so a pathological file costs linear time and bounded memory.
struct CoveredRanges: Sendable, Hashable {
    static let maximumRuns = 64

    /// Disjoint runs below the tail, sorted by start.
    private var lower: [Range<Int64>] = []
    private(set) var tailStart: Int64 = 0
    /// Below `tailStart` while nothing is covered.
    private(set) var tailEnd: Int64 = -1

    /// Nothing covered yet.
    var isEmpty: Bool { tailEnd < tailStart }

    /// True when the covered bytes are not one contiguous run.
    var hasGaps: Bool { !lower.isEmpty }

    /// Marks `start..<end` as covered; returns how many of its bytes were not covered before.
    mutating func insert(_ start: Int64, _ end: Int64) -> Int64 {
        guard end > start else { return 0 }
        if isEmpty {
            tailStart = start
            tailEnd = end
            return end - start
        }
        if start >= tailStart {
            if start <= tailEnd {
                let added = max(0, end - tailEnd)
                tailEnd = max(tailEnd, end)
                return added
            }
            lower.append(tailStart..<tailEnd)
            tailStart = start
            tailEnd = end
            compactIfNeeded()
            return end - start
        }
        return insertBelowTail(start, end)
    }

    /// The slow path: data below the highest run (reordering, or a retransmission reaching back
    /// before the first byte seen).
    private mutating func insertBelowTail(_ start: Int64, _ end: Int64) -> Int64 {
        var runs = lower
        runs.append(tailStart..<tailEnd)
        var covered: Int64 = 0
        var merged = start..<end
        var kept: [Range<Int64>] = []
        kept.reserveCapacity(runs.count + 1)
        for run in runs {
            if run.upperBound < merged.lowerBound || run.lowerBound > merged.upperBound {
                kept.append(run)
            } else {
                covered += max(0, min(run.upperBound, end) - max(run.lowerBound, start))
                merged = min(run.lowerBound, merged.lowerBound)..<max(run.upperBound, merged.upperBound)
            }
        }
        kept.append(merged)
        kept.sort { $0.lowerBound < $1.lowerBound }
        let last = kept.removeLast()
        tailStart = last.lowerBound
        tailEnd = last.upperBound
        lower = kept
        compactIfNeeded()
        return (end - start) - covered
    }

    private mutating func compactIfNeeded() {
        guard lower.count > Self.maximumRuns, let first = lower.first, let last = lower.last else { return }
        lower = [first.lowerBound..<last.upperBound]
    }

    /// The highest covered position (exclusive), if any byte is covered.
    var end: Int64? { isEmpty ? nil : tailEnd }
}
