import AnnalsEvents
import Crypto
import Foundation
import Testing

/// Checks that the generated code and the docs match the `.proto` files they come from.
@Suite("Schemas and generated code")
struct SchemaDigestTests {
    /// The repository root, found from this file's path (`Tests/AnnalsEventsTests/SchemaDigestTests.swift`).
    static let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Paths of every `.proto` under `schemas/`, relative to the root, sorted by their bytes as tools/gen-protos
    /// sorts them (`LC_ALL=C sort`).
    static func protoPaths() throws -> [String] {
        // Resolved because the enumerator does not descend into a symbolic link, which a checkout may use.
        let schemas = root.appending(path: "schemas").resolvingSymlinksInPath()
        let enumerator = try #require(FileManager.default.enumerator(atPath: schemas.path(percentEncoded: false)))
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasSuffix(".proto") { paths.append("schemas/" + relative) }
        }
        return paths.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    static func read(_ path: String) throws -> Data {
        try Data(contentsOf: root.appending(path: path))
    }

    @Test("the generated code is not stale")
    func digestMatches() throws {
        let paths = try Self.protoPaths()
        try #require(!paths.isEmpty, "no .proto files under \(Self.root.path(percentEncoded: false))schemas/")
        // The same bytes tools/gen-protos hashes: each file as its path, a NUL byte, then its content.
        var hasher = SHA256()
        for path in paths {
            hasher.update(data: Data(path.utf8))
            hasher.update(data: Data([0]))
            hasher.update(data: try Self.read(path))
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        #expect(
            digest == SchemaDigest.sha256,
            "schemas/ changed since the Swift code was generated: run tools/gen-protos and commit the result"
        )
    }

    @Test("every .proto has its generated file")
    func generatedFilesExist() throws {
        for path in try Self.protoPaths() {
            // FileNaming=PathToUnderscores: schemas/annals/events/v1/job.proto -> annals_events_v1_job.pb.swift.
            let name = path.dropFirst("schemas/".count).dropLast(".proto".count).replacing("/", with: "_")
            let generated = "Sources/AnnalsEvents/Generated/\(name).pb.swift"
            let exists = FileManager.default.fileExists(
                atPath: Self.root.appending(path: generated).path(percentEncoded: false)
            )
            #expect(exists, "\(generated) is missing: run tools/gen-protos")
        }
    }

    @Test("the schemas and docs/EVENTS.md name every type with its code", arguments: EventType.allCases)
    func documented(type: EventType) throws {
        let schemas = try Self.protoPaths().map { String(decoding: try Self.read($0), as: UTF8.self) }.joined()
        #expect(schemas.contains("Event `\(type.name)` (code \(type.rawValue))"), "the .proto comment is missing")
        let catalogue = String(decoding: try Self.read("docs/EVENTS.md"), as: UTF8.self)
        #expect(catalogue.contains("| \(type.rawValue) | `\(type.name)` |"), "docs/EVENTS.md lacks its row")
    }
}
