/// One search result: a row of the store and its cosine similarity to the query.
public struct Hit: Sendable, Equatable, Codable {
    public var row: Int
    public var score: Float

    public init(row: Int, score: Float) {
        self.row = row
        self.score = score
    }

    /// The ranking order: higher score first, then the lower row (so ties are deterministic).
    @inline(__always)
    static func ranksBefore(_ a: Hit, _ b: Hit) -> Bool {
        a.score > b.score || (a.score == b.score && a.row < b.row)
    }
}

/// The `k` best hits seen so far: a binary heap whose root is the worst kept hit, so a new
/// score is compared with one number and most rows are rejected without touching the heap.
struct TopK {
    let k: Int
    private(set) var heap: [Hit] = []

    init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(self.k)
    }

    /// Scores at or below this cannot enter (when rows arrive in increasing order, an equal
    /// score loses its tie to the kept row).
    @inline(__always)
    var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    /// Offers a hit; rows may arrive in any order (ties are broken by row).
    @inline(__always)
    mutating func offer(row: Int, score: Float) {
        let hit = Hit(row: row, score: score)
        if heap.count < k {
            heap.append(hit)
            siftUp(heap.count - 1)
        } else if k > 0, Hit.ranksBefore(hit, heap[0]) {
            heap[0] = hit
            siftDown(0)
        }
    }

    mutating func merge(_ other: TopK) {
        for hit in other.heap { offer(row: hit.row, score: hit.score) }
    }

    /// The kept hits, best first.
    func sorted() -> [Hit] { heap.sorted(by: Hit.ranksBefore) }

    // The root is the hit that ranks last.
    private mutating func siftUp(_ i: Int) {
        var child = i
        while child > 0 {
            let parent = (child - 1) / 2
            guard Hit.ranksBefore(heap[parent], heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ i: Int) {
        var parent = i
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var worst = parent
            if left < heap.count && Hit.ranksBefore(heap[worst], heap[left]) { worst = left }
            if right < heap.count && Hit.ranksBefore(heap[worst], heap[right]) { worst = right }
            if worst == parent { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
