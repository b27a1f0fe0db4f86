import CEtpan

/// Walks a libetpan `clist` as a Swift sequence. `clist_begin` and `clist_next` are C macros Swift cannot see,
/// so the cells are followed directly. The list is borrowed: the caller still owns and frees it.
public struct CList<Pointee>: Sequence {
    let list: UnsafeMutablePointer<clist>?

    public init(_ list: UnsafeMutablePointer<clist>?) { self.list = list }

    public struct Iterator: IteratorProtocol {
        var cell: UnsafeMutablePointer<clistcell>?
        public mutating func next() -> UnsafeMutablePointer<Pointee>? {
            while let current = cell {
                cell = current.pointee.next
                if let data = current.pointee.data { return data.assumingMemoryBound(to: Pointee.self) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(cell: list?.pointee.first) }
}
