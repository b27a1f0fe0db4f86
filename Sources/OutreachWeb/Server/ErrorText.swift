import Foundation
import OutreachStore

/// What a response may say about an error: the project's own typed errors are written for operators and are shown
/// as they are; a JSON decoding error is put in words; anything else (a database or network library's error) is
/// logged and answered with a sentence that names no internal type.
enum ErrorText {
    static let generic = "The server could not complete this request; its log has the details."

    static func describe(_ error: any Error) -> String {
        if let fault = StorageFault(error) { return fault.description }
        if let decoding = error as? DecodingError { return describe(decoding) }
        if isOwn(error) { return String(describing: error) }
        return generic
    }

    /// For a route that answers a failed action itself (a 400 page): the text to show — but a database that refuses
    /// writes is no fault of the request, so that error goes on to the error middleware, which answers 503.
    static func forRequest(_ error: any Error) throws -> String {
        if let fault = StorageFault(error) { throw fault }
        return describe(error)
    }

    /// True for errors declared in Outreach's modules (`OutreachStore.StoreError`, …), whose descriptions are sentences.
    static func isOwn(_ error: any Error) -> Bool {
        String(reflecting: type(of: error)).hasPrefix("Outreach")
    }

    static func describe(_ error: DecodingError) -> String {
        func field(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "the request is missing the field \"\(field(context.codingPath + [key]))\""
        case .valueNotFound(_, let context):
            return "the field \"\(field(context.codingPath))\" needs a value, not null"
        case .typeMismatch(let type, let context):
            let expected = switch type {
            case is String.Type: "text"
            case is Int.Type, is Int64.Type, is Double.Type: "a number"
            case is Bool.Type: "true or false"
            default: "another kind of value"
            }
            let name = field(context.codingPath)
            return name.isEmpty ? "the request body is not the JSON object this address takes" : "the field \"\(name)\" should be \(expected)"
        case .dataCorrupted(let context):
            let name = field(context.codingPath)
            return name.isEmpty ? "the request body is not valid JSON" : "the field \"\(name)\" has a value this address does not take"
        @unknown default:
            return "the request body is not the JSON this address takes"
        }
    }
}
