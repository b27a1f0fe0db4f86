/// An incremental RFC 4180 CSV parser over bytes, built for large master files: feed it the file in chunks of any
/// size and it hands back the records each chunk completed, holding no more than the record in progress.
///
/// ```swift
/// var parser = CSVParser()
/// var records: [CSVRecord] = []
/// while let chunk = try file.read(upToCount: 1 << 20) {
///     try chunk.withUnsafeBytes { try parser.feed($0, into: &records) }
///     for record in records { … }
///     records.removeAll(keepingCapacity: true)
/// }
/// try parser.finish(into: &records)
/// ```
///
/// What it accepts, beyond RFC 4180, is what Excel and Python's `csv` module accept:
/// - the encoding and the delimiter are detected from the first 64 KiB unless given (``TextDecoding``,
///   ``CSVDialect``): UTF-8 with or without a byte order mark, UTF-16 with one (converted to UTF-8 on the fly),
///   Windows-1252 field by field wherever the bytes are not UTF-8;
/// - CRLF, LF and a lone CR all end a record outside quotes, and may all appear inside quotes;
/// - a quote inside an unquoted field is kept as it is (`5" disk`), and text between a closing quote and the next
///   delimiter is appended (`"abc"def` is `abcdef`);
/// - blank lines are skipped: they are not records, though they count as lines;
/// - a trailing delimiter gives an empty last field.
///
/// Fields are kept as written: nothing is trimmed here.
public struct CSVParser: Sendable {
    /// The longest field accepted by default (1 MiB; `OUTREACH_CSV_MAX_FIELD_BYTES`, ``CSVImportSettings``). Longer
    /// fields are refused rather than buffered: a prospect list has no business with a megabyte cell. A quoted field
    /// that passes the limit is not kept but still scanned for its closing quote, so that the error says which it is:
    /// ``CSVError/fieldTooLong(line:limit:)`` when the quote is closed, ``CSVError/unterminatedQuote(line:)`` when
    /// the file ends inside it (which would otherwise swallow the rest of a million-row file into memory).
    public static let defaultMaximumFieldLength = 1 << 20
    /// How much of the file is looked at, by default, before deciding the encoding and the delimiter.
    public static let defaultSampleLength = 64 << 10

    /// The delimiter in use: the one given, or the detected one once the sample has been read.
    public private(set) var delimiter: UInt8?
    /// The encoding in use: the one given, or the detected one once the sample has been read.
    public private(set) var encoding: TextEncoding?
    /// Fields that were not valid UTF-8 and were read as Windows-1252 (in a file given as Windows-1252: fields that
    /// had any non-ASCII byte).
    public private(set) var windows1252FieldCount = 0
    /// Records handed back so far, the header included.
    public private(set) var recordCount = 0
    public let maximumFieldLength: Int
    /// Bytes collected before parsing starts: the detection sample, or just enough for a byte order mark and a
    /// workbook signature when both the delimiter and the encoding are given.
    public let sampleLength: Int

    private let requestedDelimiter: UInt8?
    private let requestedEncoding: TextEncoding?
    private var sample: [UInt8] = []
    private var hasStarted = false
    private var hasFinished = false
    private var transcoder: UTF16Transcoder?
    private var transcoded: [UInt8] = []
    private var decodesEveryFieldAsWindows1252 = false

    private enum State: UInt8 { case recordStart, fieldStart, unquoted, quoted, quoteInQuoted }
    private var state = State.recordStart
    /// Bytes of the field in progress that an earlier chunk held, or that unescaping a doubled quote produced.
    private var scratch: [UInt8] = []
    private var fields: [String] = []
    private var line = 1
    private var recordLine = 1
    private var quoteLine = 1
    private var previousChunkEndedInCR = false
    /// A quoted field passed the limit: its bytes are dropped while the scan looks for its closing quote.
    private var overflowing = false

    /// - Parameters:
    ///   - delimiter: the field delimiter, or `nil` to detect it (``CSVDialect/detect(sample:isComplete:)``).
    ///   - encoding: the file's encoding, or `nil` to detect it (``TextDecoding/detect(sample:isComplete:)``).
    ///     Given as `.windows1252`, every field is read as Windows-1252; detected, fields are still tried as UTF-8 first.
    ///   - maximumFieldLength: the longest field accepted, in bytes.
    ///   - sampleLength: how many bytes to collect for detection before parsing starts (at least 8, enough for a byte
    ///     order mark and a workbook signature; ignored when both the delimiter and the encoding are given).
    public init(
        delimiter: UInt8? = nil, encoding: TextEncoding? = nil, maximumFieldLength: Int = CSVParser.defaultMaximumFieldLength,
        sampleLength: Int = CSVParser.defaultSampleLength
    ) {
        self.requestedDelimiter = delimiter
        self.requestedEncoding = encoding
        self.delimiter = delimiter
        self.encoding = encoding
        self.maximumFieldLength = maximumFieldLength
        self.sampleLength = delimiter != nil && encoding != nil ? 8 : max(sampleLength, 8)
    }

    // MARK: - Feeding

    /// Parses the next chunk of the file and appends the records it completed to `records`.
    ///
    /// Chunks may split the file anywhere, inside a quoted field, a CRLF, a UTF-8 sequence or a UTF-16 code unit.
    /// Until ``sampleLength`` bytes have arrived (or ``finish(into:)`` is called) nothing is returned, because the
    /// encoding and delimiter are decided from that sample. After an error the parser must not be used again.
    /// - Throws: ``CSVError/fieldTooLong(line:limit:)`` for a field over ``maximumFieldLength`` (a quoted one once its
    ///   closing quote is found), ``CSVError/spreadsheetWorkbook`` when the sample shows a workbook instead of text.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, into records: inout [CSVRecord]) throws(CSVError) {
        precondition(!hasFinished, "CSVParser.feed called after finish")
        guard !bytes.isEmpty else { return }
        if !hasStarted {
            sample.append(contentsOf: bytes)
            if sample.count >= sampleLength { try start(sampleIsComplete: false, into: &records) }
            return
        }
        try consume(bytes, into: &records)
    }

    /// Parses the next chunk and returns the records it completed.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(CSVError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        try feed(bytes, into: &records)
        return records
    }

    public mutating func feed(_ bytes: [UInt8]) throws(CSVError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        try Self.withBytes(bytes) { (raw) throws(CSVError) in try feed(raw, into: &records) }
        return records
    }

    /// Ends the input: appends the last record if the file does not end with a line break.
    /// - Throws: ``CSVError/unterminatedQuote(line:)`` when the file ends inside a quoted field;
    ///   ``CSVError/spreadsheetWorkbook`` when the file is shorter than the sample and is a workbook.
    public mutating func finish(into records: inout [CSVRecord]) throws(CSVError) {
        precondition(!hasFinished, "CSVParser.finish called twice")
        hasFinished = true
        if !hasStarted { try start(sampleIsComplete: true, into: &records) }
        if transcoder != nil {
            var buffer: [UInt8] = []
            transcoder!.finish(appendingTo: &buffer)
            try Self.withBytes(buffer) { (raw) throws(CSVError) in try scan(raw, into: &records) }
        }
        switch state {
        case .recordStart:
            return
        case .quoted:
            throw .unterminatedQuote(line: quoteLine)
        case .fieldStart, .unquoted, .quoteInQuoted:
            if overflowing { throw .fieldTooLong(line: quoteLine, limit: maximumFieldLength) }
            fields.append(try decodeScratch())
            endRecord(into: &records)
        }
    }

    public mutating func finish() throws(CSVError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        try finish(into: &records)
        return records
    }

    /// Parses a whole file held in memory.
    public static func parse(_ bytes: [UInt8], delimiter: UInt8? = nil, encoding: TextEncoding? = nil) throws(CSVError) -> [CSVRecord] {
        var parser = CSVParser(delimiter: delimiter, encoding: encoding)
        var records = try parser.feed(bytes)
        try parser.finish(into: &records)
        return records
    }

    // MARK: - Detection

    private mutating func start(sampleIsComplete: Bool, into records: inout [CSVRecord]) throws(CSVError) {
        hasStarted = true
        let sample = self.sample
        self.sample = []
        // Zip (.xlsx, .ods) and OLE2 (.xls) signatures: the commonest wrong file, and one that would otherwise read as
        // Windows-1252 noise and fail later with a baffling list of "headers".
        if sample.starts(with: [0x50, 0x4B, 0x03, 0x04]) || sample.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            throw .spreadsheetWorkbook
        }
        let detected = TextDecoding.detect(sample: sample, isComplete: sampleIsComplete)
        let encoding = requestedEncoding ?? detected.encoding
        let byteOrderMarkLength = detected.encoding == encoding ? detected.byteOrderMarkLength : 0
        self.encoding = encoding
        decodesEveryFieldAsWindows1252 = requestedEncoding == .windows1252
        transcoder = UTF16Transcoder(encoding: encoding)

        var text = Array(sample[byteOrderMarkLength...])
        if transcoder != nil {
            var utf8: [UInt8] = []
            Self.withBytes(text) { raw in transcoder!.transcode(raw, appendingTo: &utf8) }
            text = utf8
        }
        delimiter = requestedDelimiter ?? CSVDialect.detect(sample: text, isComplete: sampleIsComplete)
        try Self.withBytes(text) { (raw) throws(CSVError) in try scan(raw, into: &records) }
    }

    private mutating func consume(_ bytes: UnsafeRawBufferPointer, into records: inout [CSVRecord]) throws(CSVError) {
        guard transcoder != nil else { return try scan(bytes, into: &records) }
        var buffer: [UInt8] = []
        swap(&buffer, &transcoded)
        buffer.removeAll(keepingCapacity: true)
        transcoder!.transcode(bytes, appendingTo: &buffer)
        defer { swap(&buffer, &transcoded) }
        try Self.withBytes(buffer) { (raw) throws(CSVError) in try scan(raw, into: &records) }
    }

    private static func withBytes<E: Error>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        var failure: E?
        bytes.withUnsafeBytes { raw in
            do throws(E) { try body(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    // MARK: - Scanning

    private static let quote = UInt8(ascii: "\"")
    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A

    /// The state machine. Field bytes are not copied while they lie in the chunk: `runStart` marks where the
    /// field's pending bytes begin, and they are decoded straight from the chunk when the field ends, or moved to
    /// `scratch` when the chunk ends first or a doubled quote has to be unescaped.
    private mutating func scan(_ chunk: UnsafeRawBufferPointer, into records: inout [CSVRecord]) throws(CSVError) {
        guard let base = chunk.baseAddress, !chunk.isEmpty else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let n = chunk.count
        let d = delimiter!
        let quote = Self.quote, cr = Self.cr, lf = Self.lf
        var state = self.state
        var line = self.line
        var i = 0
        var runStart = 0
        var runEnd = 0
        defer {
            self.state = state
            self.line = line
        }

        scanning: while i < n {
            switch state {
            case .recordStart:
                let b = p[i]
                if b == cr {
                    line += 1
                    i += 1
                } else if b == lf {
                    if !(i > 0 ? p[i - 1] == cr : previousChunkEndedInCR) { line += 1 }
                    i += 1
                } else {
                    recordLine = line
                    state = .fieldStart
                }

            case .fieldStart:
                if p[i] == quote {
                    quoteLine = line
                    i += 1
                    runStart = i
                    state = .quoted
                } else {
                    runStart = i
                    state = .unquoted
                }

            case .unquoted:
                i = Self.skip(p, from: i, to: n, until: d, cr, lf)
                while i < n {
                    let b = p[i]
                    if b == d || b == lf || b == cr { break }
                    i += 1
                }
                if i == n { break scanning }
                try endField(p + runStart, i - runStart)
                if p[i] == d {
                    i += 1
                    state = .fieldStart
                } else {
                    // The line end itself is left for .recordStart, which counts it.
                    endRecord(into: &records)
                    state = .recordStart
                }

            case .quoted:
                i = Self.skip(p, from: i, to: n, until: quote, cr, lf)
                while i < n {
                    let b = p[i]
                    if b == quote { break }
                    if b == cr {
                        line += 1
                    } else if b == lf, !(i > 0 ? p[i - 1] == cr : previousChunkEndedInCR) {
                        line += 1
                    }
                    i += 1
                }
                if i == n { break scanning }
                runEnd = i
                i += 1
                state = .quoteInQuoted

            case .quoteInQuoted:
                let b = p[i]
                if b == quote {
                    // A doubled quote: one literal quote, and the quoted field goes on.
                    try appendToScratch(p + runStart, runEnd - runStart)
                    if !overflowing { scratch.append(quote) }
                    i += 1
                    runStart = i
                    state = .quoted
                } else if b == d {
                    try endField(p + runStart, runEnd - runStart)
                    i += 1
                    state = .fieldStart
                } else if b == cr || b == lf {
                    try endField(p + runStart, runEnd - runStart)
                    endRecord(into: &records)
                    state = .recordStart
                } else {
                    // Text after the closing quote belongs to the field (lenient, like Python's csv).
                    try appendToScratch(p + runStart, runEnd - runStart)
                    runStart = i
                    state = .unquoted
                }
            }
        }

        switch state {
        case .unquoted, .quoted:
            try appendToScratch(p + runStart, n - runStart, quoted: state == .quoted)
        case .quoteInQuoted:
            // Entered in this chunk (the state never survives a byte), so runStart..<runEnd is in it.
            try appendToScratch(p + runStart, runEnd - runStart, quoted: true)
        case .recordStart, .fieldStart:
            break
        }
        previousChunkEndedInCR = p[n - 1] == cr
    }

    /// Skips eight bytes at a time while none of them is `a`, `b` or `c`, and returns where the byte-by-byte loop
    /// should go on: at the first such byte, or within eight bytes of the end. (The classic "has a zero byte" test on
    /// `word ^ pattern`; its lowest flagged byte is always a true match.)
    @inline(__always)
    private static func skip(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int, until a: UInt8, _ b: UInt8, _ c: UInt8) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let (pa, pb, pc) = (ones &* UInt64(a), ones &* UInt64(b), ones &* UInt64(c))
        var i = start
        while i &+ 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            let xa = word ^ pa, xb = word ^ pb, xc = word ^ pc
            let found = ((xa &- ones) & ~xa | (xb &- ones) & ~xb | (xc &- ones) & ~xc) & highs
            if found != 0 { return i &+ found.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        return i
    }

    /// `quoted`: the bytes belong to a quoted field that may not be closed yet. Such a field passing the limit is
    /// dropped and the scan goes on to find out whether its quote closes (``overflowing``); any other field passing
    /// the limit is an error at once.
    @inline(__always)
    private mutating func appendToScratch(_ start: UnsafePointer<UInt8>, _ count: Int, quoted: Bool = true) throws(CSVError) {
        guard count > 0, !overflowing else { return }
        guard scratch.count + count <= maximumFieldLength else {
            guard quoted else { throw .fieldTooLong(line: recordLine, limit: maximumFieldLength) }
            overflowing = true
            scratch = []
            return
        }
        scratch.append(contentsOf: UnsafeBufferPointer(start: start, count: count))
    }

    @inline(__always)
    private mutating func endField(_ start: UnsafePointer<UInt8>, _ count: Int) throws(CSVError) {
        if overflowing { throw .fieldTooLong(line: quoteLine, limit: maximumFieldLength) }
        if scratch.isEmpty {
            guard count <= maximumFieldLength else { throw .fieldTooLong(line: recordLine, limit: maximumFieldLength) }
            fields.append(decode(UnsafeBufferPointer(start: start, count: count)))
        } else {
            try appendToScratch(start, count, quoted: false)
            fields.append(try decodeScratch())
        }
    }

    private mutating func decodeScratch() throws(CSVError) -> String {
        var bytes: [UInt8] = []
        swap(&bytes, &scratch)
        let text = bytes.withUnsafeBufferPointer { decode($0) }
        bytes.removeAll(keepingCapacity: true)
        swap(&bytes, &scratch)
        return text
    }

    @inline(__always)
    private mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.isEmpty { return "" }
        if decodesEveryFieldAsWindows1252 {
            guard bytes.contains(where: { $0 >= 0x80 }) else { return String(decoding: bytes, as: UTF8.self) }
            windows1252FieldCount += 1
            return TextDecoding.windows1252String(bytes)
        }
        if TextDecoding.isValidUTF8(bytes) { return String(decoding: bytes, as: UTF8.self) }
        windows1252FieldCount += 1
        return TextDecoding.windows1252String(bytes)
    }

    @inline(__always)
    private mutating func endRecord(into records: inout [CSVRecord]) {
        let count = fields.count
        records.append(CSVRecord(fields: fields, index: recordCount, line: recordLine))
        recordCount += 1
        fields = []
        fields.reserveCapacity(count)
    }
}
