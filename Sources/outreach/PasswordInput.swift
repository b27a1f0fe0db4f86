import ArgumentParser
import Foundation

/// Passwords come from standard input or an echo-free prompt, never from argv, where `ps` and shell history
/// would show them.
enum PasswordInput {
    static func read(fromStandardInput: Bool, prompt: String) throws -> String {
        if fromStandardInput {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            var text = String(decoding: data, as: UTF8.self)
            // Only the line end that `echo` or a file adds; a password may well begin or end with spaces.
            if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
            guard !text.isEmpty else { throw ValidationError("--password-stdin was given but standard input was empty") }
            return text
        }
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("standard input is not a terminal: pass the password on standard input with --password-stdin")
        }
        return try promptWithoutEcho(prompt)
    }

    private static func promptWithoutEcho(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var original = termios()
        tcgetattr(STDIN_FILENO, &original)
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &original)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password entered") }
        return line
    }
}
