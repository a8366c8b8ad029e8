//! The stdio transport, with one addition to rmcp's: a line that is not JSON gets a JSON-RPC parse error (-32700)
//! back instead of silence, and the session goes on. Every message is written to stdout as one whole line, so
//! injected errors never interleave with rmcp's output.

use crate::exec::cancel::CancellationToken;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};

/// The largest line accepted (rmcp's own default limit).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Start the stdin/stdout pumps; returns the (reader, writer) pair to hand to rmcp's `serve`. When stdin and stdout
/// are pipes (as MCP clients start servers), they are read and written on the IO reactor, not through Tokio's
/// blocking thread pool: no thread hand-off per message, and a pending read can be dropped.
pub fn transport() -> (DuplexStream, DuplexStream) {
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    pumps(stdin, stdout)
}

/// [`transport`], cancelling `input_closed` as soon as stdin ends, so running calls are stopped in the database
/// before the server exits (rmcp itself would wait for them).
pub fn transport_watching(input_closed: CancellationToken) -> (DuplexStream, DuplexStream) {
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    pumps_watching(stdin, stdout, Some(input_closed))
}

/// The same pumps over any byte streams (tests use pipes).
pub fn pumps<I, O>(input: I, output: O) -> (DuplexStream, DuplexStream)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    pumps_watching(input, output, None)
}

fn pumps_watching<I, O>(input: I, output: O, input_closed: Option<CancellationToken>) -> (DuplexStream, DuplexStream)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (to_rmcp, rmcp_reads) = tokio::io::duplex(1 << 16);
    let (rmcp_writes, from_rmcp) = tokio::io::duplex(1 << 16);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        read_input(input, to_rmcp, errors_tx).await;
        if let Some(token) = input_closed {
            token.cancel();
        }
    });
    tokio::spawn(write_output(from_rmcp, output, errors_rx));
    (rmcp_reads, rmcp_writes)
}

async fn read_input<I: AsyncRead + Unpin>(
    input: I,
    mut to_rmcp: DuplexStream,
    errors: tokio::sync::mpsc::UnboundedSender<String>,
) {
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = match (&mut reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if n > MAX_LINE && !line.ends_with(b"\n") {
            // Skip the rest of the oversized line, then report it.
            let mut rest = Vec::new();
            let _ = reader.read_until(b'\n', &mut rest).await;
            let _ = errors.send(parse_error(&format!("message longer than {MAX_LINE} bytes")));
            continue;
        }
        let body = trim_ascii(&line);
        if body.is_empty() {
            continue;
        }
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            let _ = errors.send(parse_error(&e.to_string()));
            continue;
        }
        if to_rmcp.write_all(body).await.is_err() || to_rmcp.write_all(b"\n").await.is_err() {
            break;
        }
    }
    // Dropping `to_rmcp` tells rmcp the input ended.
}

async fn write_output<O: AsyncWrite + Unpin>(
    from_rmcp: DuplexStream,
    mut output: O,
    mut errors: tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut lines = BufReader::new(from_rmcp);
    let mut line = Vec::new();
    let mut errors_open = true;
    loop {
        line.clear();
        tokio::select! {
            read = lines.read_until(b'\n', &mut line) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                            break;
                        }
                    }
                }
            }
            err = errors.recv(), if errors_open => {
                match err {
                    Some(msg) => {
                        if output.write_all(msg.as_bytes()).await.is_err() || output.flush().await.is_err() {
                            break;
                        }
                    }
                    None => errors_open = false,
                }
            }
        }
    }
    let _ = output.flush().await;
}

fn parse_error(detail: &str) -> String {
    let msg = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32700, "message": format!("Parse error: {detail}")},
    });
    format!("{msg}\n")
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn garbage_gets_a_parse_error_and_json_passes_through() {
        let input: &[u8] = b"not json\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n";
        let (out_w, mut out_r) = tokio::io::duplex(4096);
        let (mut rmcp_in, rmcp_out) = pumps(input, out_w);
        let mut got = String::new();
        AsyncReadExt::read_to_string(&mut rmcp_in, &mut got).await.expect("read");
        assert_eq!(got, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
        drop(rmcp_out);
        let mut written = String::new();
        AsyncReadExt::read_to_string(&mut out_r, &mut written).await.expect("read");
        assert!(written.contains("-32700"), "{written}");
    }
}
