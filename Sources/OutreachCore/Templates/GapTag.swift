/// The `[gap:N]` spacing tag of the body.
///
/// **N is the number of empty lines between the text before the tag and the text after it**, in the plain-text part
/// exactly, and in the HTML part as N empty lines (each one `<div><br></div>`, the markup Gmail's own composer writes
/// for an empty line, which Gmail, Outlook and Apple Mail all render as one line of height).
///
/// - `[gap]` means `[gap:1]`: an ordinary paragraph break. `[gap:0]` puts the next line directly under the previous
///   one (seed templates use it). N runs from 0 to 10.
/// - The tag replaces whatever blank lines surround it: "Hi,⏎⏎[gap:3]⏎⏎Bye" has exactly three empty lines between
///   "Hi," and "Bye". Tags next to each other add up. A tag in the middle of a line ends that line.
/// - In an HTML body, a tag alone in its `<p>` or `<div>` (as rich-text editors write it) replaces that element; a tag
///   between elements becomes N `<div><br></div>` (added to the elements' own margins); a tag inside a line of text
///   becomes line breaks that leave N empty lines. The plain-text part always gets exactly N.
/// - A malformed tag (`[gap:x]`, `[gap:11]`, `[gap:-1]`) or one in the subject is kept as written, so a preview shows
///   it plainly, and lint reports it as an error: a template with errors must not be sent.
public enum GapTag {
    public static let allowedLines = 0...10
}
