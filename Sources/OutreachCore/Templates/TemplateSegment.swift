/// A piece of a compiled subject, HTML part or text part: template text, or the value of a placeholder slot escaped
/// for where it lands. Rendering a row only concatenates segments; nothing is parsed again.
enum TemplateSegment: Sendable, Hashable {
    case literal(String)
    case value(slot: Int, context: ValueContext)

    /// Splits compiled plain text (subject or text part), where the sentinel range tells the place of each value.
    static func splitPlainText(_ scalars: some Sequence<Unicode.Scalar>) -> [TemplateSegment] {
        var builder = Builder()
        for scalar in scalars {
            if let (slot, place) = TemplateSentinel.slot(of: scalar) {
                let context: ValueContext
                switch place {
                case .text: context = .raw
                case .url: context = .url
                case .urlStart: context = .urlStart
                }
                builder.appendValue(slot: slot, context: context)
            } else if TemplateSentinel.gapLines(of: scalar) == nil {
                builder.append(scalar)
            }
        }
        return builder.finish()
    }

    struct Builder {
        private var segments: [TemplateSegment] = []
        private var pending = String.UnicodeScalarView()

        mutating func append(_ scalar: Unicode.Scalar) { pending.append(scalar) }

        mutating func appendValue(slot: Int, context: ValueContext) {
            flush()
            segments.append(.value(slot: slot, context: context))
        }

        mutating func finish() -> [TemplateSegment] {
            flush()
            return segments
        }

        private mutating func flush() {
            guard !pending.isEmpty else { return }
            segments.append(.literal(String(pending)))
            pending = String.UnicodeScalarView()
        }
    }
}
