import Foundation

/// Someone who signs in to the web UI. An admin sees and manages everything; a user sees their own campaigns and
/// jobs and the sending accounts an admin granted them.
public struct User: Sendable, Hashable, Codable, Identifiable {
    public enum Role: String, Sendable, Codable, CaseIterable { case admin, user }

    public var id: Int64?
    /// Lower-cased; it is the login name.
    public var email: String
    public var role: Role
    public var createdAt: Date

    public init(id: Int64? = nil, email: String, role: Role, createdAt: Date = Date()) {
        self.id = id
        self.email = email.lowercased()
        self.role = role
        self.createdAt = createdAt
    }

    public var isAdmin: Bool { role == .admin }
}
