import Foundation

/// A message for the next page, after a form's action (see ``WebApp/redirect(to:flash:session:)``).
struct Flash: Sendable {
    let kind: String
    let message: String
}
