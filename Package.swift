// swift-tools-version: 6.2
import PackageDescription

/// One settings array for every target: Swift 6 language mode, the upcoming features the project relies on, and
/// warnings treated as errors so that a warning never lands on main.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "Annals",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "annals", targets: ["annals"]),
        .executable(name: "annals-bench", targets: ["annals-bench"]),
        .library(name: "AnnalsLog", targets: ["AnnalsLog"]),
        .library(name: "AnnalsEvents", targets: ["AnnalsEvents"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        // Not `CZlib`: ZIPFoundation's own zlib module map is named that on Linux, and two modules of one name
        // cannot be loaded into one build.
        .systemLibrary(name: "CZlibShim", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Pure layer.
        // C for what Swift cannot express: SIMD chosen for the CPU at start-up, and prefetch (see its header).
        .target(name: "CAnnalsKernels"),
        .target(
            name: "AnnalsChecksum",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AnnalsEvents",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/README.md"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "AnnalsExtract",
            dependencies: ["CZlibShim", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AnnalsEmbedding",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AnnalsVector",
            dependencies: ["AnnalsChecksum", "CAnnalsKernels"],
            swiftSettings: swiftSettings
        ),

        // Storage layer.
        .target(
            name: "AnnalsLog",
            dependencies: [
                "AnnalsChecksum",
                "CAnnalsKernels",
                "CLMDB",
                "CZlibShim",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // State layer.
        .target(
            name: "AnnalsProjections",
            dependencies: [
                "AnnalsChecksum",
                "AnnalsLog",
                "AnnalsEvents",
                "AnnalsVector",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),

        // Application layer.
        .target(
            name: "AnnalsService",
            dependencies: [
                "CAnnalsKernels",
                "AnnalsLog",
                "AnnalsEvents",
                "AnnalsProjections",
                "AnnalsExtract",
                "AnnalsEmbedding",
                "AnnalsVector",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),

        // Support.
        .target(
            name: "AnnalsBenchSupport",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AnnalsTesting",
            dependencies: ["AnnalsLog", "CLMDB"],
            swiftSettings: swiftSettings
        ),

        // Edges.
        .target(
            name: "AnnalsHTTP",
            dependencies: [
                "AnnalsService",
                "AnnalsProjections",
                "AnnalsEvents",
                "AnnalsLog",
                "AnnalsEmbedding",
                "AnnalsVector",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "annals",
            dependencies: [
                "AnnalsLog",
                "AnnalsEvents",
                "AnnalsProjections",
                "AnnalsService",
                "AnnalsHTTP",
                "AnnalsVector",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "annals-bench",
            dependencies: [
                "AnnalsLog",
                "AnnalsProjections",
                "AnnalsEvents",
                "AnnalsExtract",
                "AnnalsEmbedding",
                "AnnalsVector",
                "AnnalsService",
                "AnnalsBenchSupport",
                "CZlibShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests mirror modules.
        .testTarget(
            name: "AnnalsLogTests",
            dependencies: ["AnnalsLog", "AnnalsChecksum", "AnnalsTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsEventsTests",
            dependencies: [
                "AnnalsEvents",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            resources: [],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsExtractTests",
            dependencies: ["AnnalsExtract", "AnnalsTesting", "CZlibShim"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsEmbeddingTests",
            dependencies: ["AnnalsEmbedding"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsVectorTests",
            dependencies: ["AnnalsVector", "AnnalsChecksum", "AnnalsTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsBenchSupportTests",
            dependencies: ["AnnalsBenchSupport", "AnnalsTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsProjectionsTests",
            dependencies: [
                "AnnalsProjections", "AnnalsLog", "AnnalsEvents", "AnnalsTesting",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsServiceTests",
            dependencies: [
                "AnnalsService", "AnnalsProjections", "AnnalsLog", "AnnalsEvents", "AnnalsExtract", "AnnalsTesting",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsHTTPTests",
            dependencies: [
                "AnnalsHTTP", "AnnalsService", "AnnalsProjections", "AnnalsExtract", "AnnalsEmbedding", "AnnalsTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AnnalsCLITests",
            dependencies: ["annals", "annals-bench", "AnnalsLog", "AnnalsEvents", "AnnalsTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
