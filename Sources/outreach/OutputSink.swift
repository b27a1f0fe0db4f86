import ArgumentParser
import Foundation
import OutreachCore
import OutreachEngine
import OutreachStore

/// Standard output or a file, written in pieces.
final class OutputSink {
    private let handle: FileHandle
    private let path: String?

    init(path: String?) throws {
        self.path = path
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ValidationError("cannot write \(path)") }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        } else {
            handle = FileHandle.standardOutput
        }
    }

    func write(_ text: String) { handle.write(Data(text.utf8)) }

    func close() throws { if path != nil { try handle.close() } }
}
