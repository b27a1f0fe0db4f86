// swift-tools-version:6.2
import PackageDescription

/// Shared by every Swift target, as Hummingbird does: `any` spelled out, and imports that are visible only where they are written.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Outreach",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "outreach", targets: ["outreach"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Hummingbird's own; named for the web's connection timeouts (a channel handler).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // Already in the graph through postgres-nio; named so the store can say how PostgreSQL connections use TLS.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.25.0"),
    ],
    targets: [
        // MARK: - C bridges
        // libetpan's pkg-config file carries -specs flags SwiftPM rejects; the headers are in /usr/include, so link by name only.
        .systemLibrary(name: "CEtpan", providers: [.apt(["libetpan-dev"])]),
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-gnutls-dev"])]),
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),

        // MARK: - Outreach
        .target(name: "OutreachCore", swiftSettings: swiftSettings),
        .target(name: "OutreachMail", dependencies: ["OutreachCore", "CEtpan"], swiftSettings: swiftSettings),
        .target(
            name: "OutreachStore",
            dependencies: [
                "OutreachCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutreachTransport",
            dependencies: [
                "OutreachCore", "OutreachMail", "CEtpan", "CCurl", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutreachEngine",
            dependencies: [
                "OutreachCore", "OutreachMail", "OutreachStore", "OutreachTransport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "OutreachWeb",
            dependencies: [
                "OutreachCore", "OutreachStore", "OutreachEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "outreach",
            dependencies: [
                "OutreachCore", "OutreachMail", "OutreachStore", "OutreachTransport", "OutreachEngine", "OutreachWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Drives the C bridges through one IMAP and one SMTP cycle, so the integration tests can run it under valgrind.
        .executableTarget(
            name: "BridgeExercise",
            dependencies: ["OutreachCore", "OutreachMail", "OutreachTransport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/BridgeExercise",
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        // Starts private PostgreSQL servers for the store conformance suite and the integration tests.
        .target(name: "PostgresTestSupport", path: "Tests/PostgresTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "OutreachCoreTests", dependencies: ["OutreachCore"], swiftSettings: swiftSettings),
        .testTarget(name: "OutreachMailTests", dependencies: ["OutreachMail", "OutreachCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "OutreachStoreTests",
            dependencies: [
                "OutreachStore", "OutreachCore", "PostgresTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "OutreachTransportTests", dependencies: ["OutreachTransport", "OutreachCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "outreach", "BridgeExercise", "OutreachCore", "OutreachMail", "OutreachStore", "OutreachTransport", "OutreachEngine",
                "PostgresTestSupport", .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
