import ArgumentParser
import Foundation
import Logging
import OutreachCore
import OutreachEngine
import OutreachStore
import OutreachTransport

/// Flags every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The database file (default: $OUTREACH_DB, else ./outreach.db).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("A .env-style configuration file (default: ./.env when present).", valueName: "file"))
    var config: String?
}
