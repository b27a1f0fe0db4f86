import PostgresNIO

/// A nullable column of a batch bound as PostgreSQL arrays, which postgres-nio binds only without NULLs: whether each
/// row has a value, and the value or a placeholder. SQL takes it back as `CASE WHEN present THEN value END`.
struct NullableColumn<Value: PostgresArrayEncodable> {
    let present: [Bool]
    let values: [Value]

    init<Row>(_ rows: [Row], placeholder: Value, _ value: (Row) -> Value?) {
        let optional = rows.map(value)
        present = optional.map { $0 != nil }
        values = optional.map { $0 ?? placeholder }
    }
}
