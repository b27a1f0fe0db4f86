/// A command that ran but could not do its work: ArgumentParser prints "Error: " and the message, without the usage
/// text a `ValidationError` adds (that is for arguments the command cannot make sense of), and exits 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
