import AnnalsHTTP
import AnnalsLog
import AnnalsService
import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `annals serve`: runs the service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service: recover from the log, then serve HTTP and process documents.",
        discussion: """
            Settings come from, in rising precedence: defaults, a JSON config file (--config or ANNALS_CONFIG),
            ANNALS_* environment variables, and these flags. docs/CONFIGURATION.md lists every setting. An invalid
            setting stops the start with one line saying which and why.
            """
    )

    @Option(help: ArgumentHelp("The data directory.", valueName: "DIR")) var data: String?
    @Option(help: "The address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "The port to listen on (default 8080).") var port: String?
    @Option(help: ArgumentHelp("A JSON config file.", valueName: "FILE")) var config: String?
    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Any setting as NAME=VALUE (repeatable), e.g. --set workers=4.", valueName: "NAME=VALUE"))
    var settings: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func run() async throws {
        var flags: [String: String] = [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                printError("annals: --set needs NAME=VALUE, got '\(setting)'")
                throw ExitCode(2)
            }
            flags[parts[0]] = parts[1]
        }
        if let data { flags["data"] = data }
        if let host { flags["host"] = host }
        if let port { flags["port"] = port }
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.load(
                file: config, environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch let error as ConfigurationError {
            printError("annals: invalid configuration: \(error.message)")
            throw ExitCode(2)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            printError("annals: unknown log level '\(logLevel)'")
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "annals")
        let core: AnnalsCore
        do {
            core = try AnnalsCore.open(configuration: configuration, logger: logger)
        } catch let error as ServiceError {
            printError("annals: \(error.message)")
            throw ExitCode(2)
        } catch let error as LogError {
            printError("annals: \(error.message)")
            throw ExitCode(2)
        }
        let app = buildApplication(core: core, logger: logger) { report in
            if let secret = report.adminSecret {
                // Shown once; it is also in DATA/admin.key (mode 0600).
                let line = "admin API key (saved to \(configuration.dataDirectory)/admin.key): \(secret)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        try await app.runService()
    }
}
