import AnnalsExtract
import AnnalsLog
import AnnalsService
import AnnalsTesting
import Foundation
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults, then file, then environment, then flags")
    func precedence() throws {
        let dir = TemporaryDirectory()
        let file = dir.child("annals.json")
        try Data(#"{"workers": 7, "port": "9000", "chunk-characters": 500}"#.utf8).write(to: URL(fileURLWithPath: file))
        let configuration = try ServiceConfiguration.load(
            file: file, environment: ["ANNALS_PORT": "9100", "ANNALS_ATTEMPTS_MAX": "3"],
            flags: ["port": "9200", "data": dir.path])
        #expect(configuration.workers == 7)
        #expect(configuration.chunkCharacters == 500)
        #expect(configuration.attemptsMax == 3)
        #expect(configuration.port == 9200)
        #expect(configuration.dataDirectory == dir.path)
        #expect(ServiceConfiguration().port == 8080)
    }

    @Test("invalid settings stop the start with one line naming the source and the setting")
    func invalid() throws {
        func message(_ body: () throws -> ServiceConfiguration) -> String? {
            do {
                _ = try body()
                return nil
            } catch let error as ConfigurationError {
                return error.message
            } catch {
                return nil
            }
        }
        let workers = message { try .load(file: nil, environment: ["ANNALS_WORKERS": "many"], flags: [:]) }
        #expect(workers?.contains("ANNALS_WORKERS") == true)
        #expect(workers?.contains("workers must be a whole number") == true)
        let unknown = message { try .load(file: nil, environment: [:], flags: ["colour": "blue"]) }
        #expect(unknown?.contains("unknown setting 'colour'") == true)
        let overlap = message {
            try .load(
                file: nil, environment: [:], flags: ["chunk-characters": "200", "chunk-overlap-characters": "300"])
        }
        #expect(overlap?.contains("must be smaller than chunk-characters") == true)
        let missing = message { try .load(file: "/nonexistent/annals.json", environment: [:], flags: [:]) }
        #expect(missing?.contains("cannot read config file") == true)
        for text in [workers, unknown, overlap, missing] { #expect(text?.contains("\n") == false) }
    }
}

@Suite("Backoff")
struct BackoffTests {
    @Test("doubles per attempt, capped, with half of it jitter")
    func delays() {
        let backoff = Backoff(base: .seconds(1), maximum: .seconds(10))
        #expect(backoff.delay(afterAttempt: 1, unit: 0) == .milliseconds(500))
        #expect(backoff.delay(afterAttempt: 1, unit: 1) == .seconds(1))
        #expect(backoff.delay(afterAttempt: 3, unit: 1) == .seconds(4))
        #expect(backoff.delay(afterAttempt: 10, unit: 1) == .seconds(10))
        #expect(backoff.delay(afterAttempt: 10, unit: 0) == .seconds(5))
        #expect(backoff.delay(afterAttempt: 1_000, unit: 0.5) == .milliseconds(7500))
    }
}

@Suite("Blob store")
struct BlobStoreTests {
    @Test("content-addressed, durable, deduplicated; temporary files of a crash are cleared")
    func blobs() throws {
        let dir = TemporaryDirectory()
        let store = try BlobStore(root: dir.child("blobs"))
        let writer = try store.writer()
        try Array("hello ".utf8).withUnsafeBytes { try writer.write($0) }
        try Array("world".utf8).withUnsafeBytes { try writer.write($0) }
        let (key, size) = try writer.finish()
        #expect(key == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        #expect(size == 11)
        #expect(try store.read(key) == Data("hello world".utf8))
        let again = try store.writer()
        try Array("hello world".utf8).withUnsafeBytes { try again.write($0) }
        #expect(try again.finish().key == key)
        // An upload that never finished leaves a temporary file; the next start removes it.
        let abandoned = try store.writer()
        try Array("partial".utf8).withUnsafeBytes { try abandoned.write($0) }
        let leftover = dir.child("blobs/tmp/leftover")
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data("x".utf8)))
        store.removeTemporaryFiles()
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(store.contains(key))
    }

    @Test("file names are sanitised: no paths, no control characters, capped")
    func filenames() {
        #expect(UploadService.sanitise(filename: "../../etc/passwd") == "passwd")
        #expect(UploadService.sanitise(filename: "a\u{0}b\u{1B}c.txt") == "abc.txt")
        #expect(UploadService.sanitise(filename: "C:\\docs\\report.pdf") == "report.pdf")
        #expect(UploadService.sanitise(filename: "..") == "")
        #expect(UploadService.sanitise(filename: String(repeating: "x", count: 1000)).count == 255)
        #expect(UploadService.sanitise(filename: nil) == "")
    }
}

@Suite("Embedder settings")
struct EmbedderSettingsTests {
    @Test("the http embedder needs a URL and a model")
    func httpEmbedderSettings() throws {
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.load(file: nil, environment: ["ANNALS_EMBEDDER": "http"], flags: [:])
        }
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.load(
                file: nil, environment: ["ANNALS_EMBEDDER": "http", "ANNALS_EMBEDDER_URL": "http://127.0.0.1:9"],
                flags: [:])
        }
        let configuration = try ServiceConfiguration.load(
            file: nil,
            environment: ["ANNALS_EMBEDDER": "http", "ANNALS_EMBEDDER_URL": "http://127.0.0.1:9"],
            flags: ["embedder-model": "m", "embedder-timeout-seconds": "0.5"])
        #expect(configuration.embedder == .http)
        #expect(configuration.embedderTimeout == .milliseconds(500))
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.load(file: nil, environment: ["ANNALS_EMBEDDER": "openai"], flags: [:])
        }
    }
}

@Suite("Extraction limit settings")
struct ExtractionLimitSettingsTests {
    @Test("the limits reach the extraction configuration; out-of-range values are refused")
    func limits() throws {
        let configuration = try ServiceConfiguration.load(
            file: nil, environment: ["ANNALS_COMPRESSION_RATIO_MAX": "50"],
            flags: ["extracted-text-bytes-max": "1000", "decompressed-bytes-max": "2000"])
        #expect(configuration.extraction.textBytesMax == 1000)
        #expect(configuration.extraction.decompressedBytesMax == 2000)
        #expect(configuration.extraction.compressionRatioMax == 50)
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.load(file: nil, environment: [:], flags: ["compression-ratio-max": "1"])
        }
    }
}

@Suite("Log settings")
struct LogSettingsTests {
    @Test("log-preallocate-bytes defaults to the log's own default, takes 0 to turn it off, and refuses negatives")
    func preallocation() throws {
        #expect(ServiceConfiguration().logPreallocateBytes == LogConfiguration().preallocateAheadBytes)
        let off = try ServiceConfiguration.load(
            file: nil, environment: ["ANNALS_LOG_PREALLOCATE_BYTES": "0"], flags: [:])
        #expect(off.logPreallocateBytes == 0)
        #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.load(file: nil, environment: [:], flags: ["log-preallocate-bytes": "-1"])
        }
    }
}
