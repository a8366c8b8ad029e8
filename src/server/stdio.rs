//! The stdio transport: JSON-RPC messages one per line, read from stdin and written to stdout, given to rmcp as
//! a [`Transport`]. Beyond rmcp's own line transport: a line that is not JSON gets a JSON-RPC parse error (-32700)
//! back instead of silence, JSON that is not a message gets an invalid-request error (-32600), and the session
//! goes on. Every message is written to stdout as one whole line under one lock, so an error reply never
//! interleaves with rmcp's output.
//!
//! Each message is parsed once, straight into rmcp's message type, and written straight to stdout: no copy through
//! an in-memory pipe and no task hop per message (an earlier version pumped lines through `tokio::io::duplex`
//! pipes: two more task wake-ups and a second JSON parse per request).

use std::future::Future;
use std::io;
use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequest, CallToolRequestMethod, CallToolRequestParams, ClientRequest, JsonRpcMessage, JsonRpcRequest,
    JsonRpcVersion2_0, RequestId,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::exec::cancel::CancellationToken;

/// The largest line accepted (rmcp's own default limit).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// The server's side of stdin/stdout, cancelling `input_closed` as soon as stdin ends, so running calls are stopped
/// in the database before the server exits (rmcp itself would wait for them). When stdin and stdout are pipes (as MCP
/// clients start servers), they are read and written on the IO reactor, not through Tokio's blocking thread pool: no
/// thread hand-off per message, and a pending read can be dropped.
pub fn transport_watching(
    input_closed: CancellationToken,
) -> Lines<impl AsyncRead + Unpin + Send, impl AsyncWrite + Unpin + Send + 'static> {
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    Lines::new(stdin, stdout, Some(input_closed))
}

/// The same transport over any byte streams (`call` and tests use in-memory pipes).
pub fn over<I, O>(input: I, output: O) -> Lines<I, O>
where
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send + 'static,
{
    Lines::new(input, output, None)
}

/// Newline-delimited JSON-RPC over a byte stream pair.
pub struct Lines<I, O> {
    input: BufReader<I>,
    /// The line being read. Kept across calls of [`Transport::receive`]: rmcp drops a pending receive whenever
    /// another event comes first, and the bytes read so far must not be lost.
    line: Vec<u8>,
    /// Skipping the rest of a line longer than [`MAX_LINE`].
    discarding: bool,
    output: Arc<Mutex<O>>,
    /// Error replies to lines that were not messages, each written whole by its own task (a dropped receive
    /// must not cut a line short); awaited on close.
    replies: JoinSet<()>,
    input_closed: Option<CancellationToken>,
}

/// What the input holds next.
enum Next {
    Line,
    TooLong,
    End,
}

impl<I, O> Lines<I, O>
where
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send + 'static,
{
    fn new(input: I, output: O, input_closed: Option<CancellationToken>) -> Lines<I, O> {
        Lines {
            input: BufReader::new(input),
            line: Vec::new(),
            discarding: false,
            output: Arc::new(Mutex::new(output)),
            replies: JoinSet::new(),
            input_closed,
        }
    }

    /// Read up to the end of the next line into `self.line`. Cancel-safe: bytes are taken from the reader's buffer
    /// only into `self.line`, with no await in between.
    async fn next_line(&mut self) -> Next {
        loop {
            let buf = match self.input.fill_buf().await {
                Ok(buf) => buf,
                Err(_) => return Next::End,
            };
            if buf.is_empty() {
                // End of input: a last line without its newline still counts.
                return if self.line.is_empty() || self.discarding { Next::End } else { Next::Line };
            }
            let (taken, complete) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if !self.discarding {
                self.line.extend_from_slice(&buf[..taken]);
            }
            self.input.consume(taken);
            // The newline itself does not count towards the limit.
            if !self.discarding && self.line.len() > MAX_LINE + usize::from(complete) {
                self.discarding = true;
                self.line.clear();
            }
            if complete {
                if self.discarding {
                    self.discarding = false;
                    return Next::TooLong;
                }
                return Next::Line;
            }
        }
    }

    /// Write `reply` (one line) in a task of its own.
    fn reply(&mut self, reply: String) {
        // Finished replies are let go here: a client sending garbage without end must not grow the set.
        while self.replies.try_join_next().is_some() {}
        let output = self.output.clone();
        self.replies.spawn(async move {
            let _ = write_line(&output, reply.as_bytes()).await;
        });
    }
}

impl<I, O> Transport<RoleServer> for Lines<I, O>
where
    I: AsyncRead + Unpin + Send,
    O: AsyncWrite + Unpin + Send + 'static,
{
    type Error = io::Error;

    fn send(&mut self, item: TxJsonRpcMessage<RoleServer>) -> impl Future<Output = io::Result<()>> + Send + 'static {
        // Encoded now, so the future holds bytes, not the message.
        let line = serde_json::to_vec(&item).map_err(io::Error::other);
        let output = self.output.clone();
        async move {
            let mut line = line?;
            line.push(b'\n');
            write_line(&output, &line).await
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            match self.next_line().await {
                Next::End => {
                    if let Some(token) = &self.input_closed {
                        token.cancel();
                    }
                    return None;
                }
                Next::TooLong => {
                    self.reply(parse_error(&format!("message longer than {MAX_LINE} bytes")));
                    continue;
                }
                Next::Line => {}
            }
            let parsed = parse(&self.line);
            self.line.clear();
            match parsed {
                Parsed::Message(message) => return Some(*message),
                Parsed::Blank | Parsed::Ignored => {}
                Parsed::Reply(reply) => self.reply(reply),
            }
        }
    }

    async fn close(&mut self) -> io::Result<()> {
        while self.replies.join_next().await.is_some() {}
        self.output.lock().await.flush().await
    }
}

async fn write_line<O: AsyncWrite + Unpin>(output: &Mutex<O>, line: &[u8]) -> io::Result<()> {
    let mut out = output.lock().await;
    out.write_all(line).await?;
    out.flush().await
}

enum Parsed {
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    Blank,
    /// A notification (no id) with a method this server does not know: never answered (rmcp does the same).
    Ignored,
    Reply(String),
}

fn parse(line: &[u8]) -> Parsed {
    let body = trim_ascii(line);
    let body = body.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(body);
    if body.is_empty() {
        return Parsed::Blank;
    }
    if let Some(call) = tool_call(body) {
        return Parsed::Message(Box::new(call));
    }
    match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(body) {
        Ok(message) => Parsed::Message(Box::new(message)),
        // The message type failed first; whether the line is JSON at all decides the error.
        Err(e) if matches!(e.classify(), serde_json::error::Category::Data) => {
            match serde_json::from_slice::<serde_json::Value>(body) {
                Err(not_json) => Parsed::Reply(parse_error(&not_json.to_string())),
                // A notification this server does not know: JSON-RPC never answers a notification.
                Ok(v) if v.get("id").is_none() && v.get("method").is_some_and(serde_json::Value::is_string) => {
                    Parsed::Ignored
                }
                Ok(v) => {
                    let id = v.get("id").filter(|id| id.is_string() || id.is_number()).cloned();
                    Parsed::Reply(invalid_request(id.unwrap_or_default(), &e.to_string()))
                }
            }
        }
        Err(e) => Parsed::Reply(parse_error(&e.to_string())),
    }
}

/// A `tools/call` request exactly as rmcp's reader would make it, with nothing else in the line. The reader in
/// rmcp buffers every message and tries its ~20 request types in turn, building an error for each miss before it
/// reaches `tools/call`: ~7% of the server's CPU for a `readonly_query SELECT 1`. Read straight into its type here;
/// a line this does not read (another method, a field rmcp would look at, a duplicate key, …) goes to rmcp's
/// reader, so either way the message is the same (`tool_calls_read_directly_equal_rmcps_reading`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolCall {
    jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[allow(dead_code)] // Checked while reading: only "tools/call" is accepted.
    method: CallToolRequestMethod,
    params: CallToolRequestParams,
}

fn tool_call(body: &[u8]) -> Option<RxJsonRpcMessage<RoleServer>> {
    if !body.windows(12).any(|w| w == b"\"tools/call\"") {
        return None;
    }
    let call: ToolCall = serde_json::from_slice(body).ok()?;
    let mut params = call.params;
    // rmcp keeps `params._meta` (the progress token) in the request's extensions, not in the params.
    let meta = params.meta.take();
    let mut request = CallToolRequest::new(params);
    if let Some(meta) = meta {
        request.extensions.insert(meta);
    }
    Some(JsonRpcMessage::Request(JsonRpcRequest {
        jsonrpc: call.jsonrpc,
        id: call.id,
        request: ClientRequest::CallToolRequest(request),
    }))
}

fn parse_error(detail: &str) -> String {
    let msg = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32700, "message": format!("Parse error: {detail}")},
    });
    format!("{msg}\n")
}

fn invalid_request(id: serde_json::Value, detail: &str) -> String {
    let msg = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32600, "message": format!("Invalid Request: {detail}")},
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
    use tokio::io::AsyncReadExt;

    fn method(message: &RxJsonRpcMessage<RoleServer>) -> String {
        serde_json::to_value(message).unwrap()["method"].as_str().unwrap_or_default().to_string()
    }

    #[tokio::test]
    async fn garbage_and_non_messages_get_errors_and_the_messages_around_them_pass_through() {
        let input: &[u8] = b"not json\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n\
            {\"jsonrpc\":\"2.0\",\"id\":7,\"method\":42}\n{\"jsonrpc\":\"2.0\",\"method\":\"x/unknown\"}\n\
            8 trailing garbage\n\
            \xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
        let (out_w, mut out_r) = tokio::io::duplex(4096);
        let closed = CancellationToken::new();
        let mut lines = Lines::new(input, out_w, Some(closed.clone()));
        let mut ids = Vec::new();
        while let Some(message) = lines.receive().await {
            assert!(!closed.is_cancelled());
            let message = serde_json::to_value(&message).unwrap();
            if message["method"] == "ping" {
                ids.push(message["id"].clone());
            }
        }
        // The last line has a byte-order mark and no newline: still a message.
        assert_eq!(ids, vec![serde_json::json!(1), serde_json::json!(2)]);
        assert!(closed.is_cancelled(), "the end of input is announced");
        Transport::<RoleServer>::close(&mut lines).await.unwrap();
        drop(lines);
        let mut written = String::new();
        out_r.read_to_string(&mut written).await.unwrap();
        let replies: Vec<serde_json::Value> = written.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(replies.len(), 3, "{written}");
        let codes = |id: serde_json::Value| -> Vec<serde_json::Value> {
            replies.iter().filter(|r| r["id"] == id).map(|r| r["error"]["code"].clone()).collect()
        };
        // "not json" and "8 trailing garbage" (a number first, then what no JSON allows).
        assert_eq!(codes(serde_json::Value::Null), vec![serde_json::json!(-32700); 2]);
        assert_eq!(codes(serde_json::json!(7)), vec![serde_json::json!(-32600)]);
    }

    #[tokio::test]
    async fn a_line_read_in_part_by_a_dropped_receive_is_not_lost() {
        let (mut client, server_in) = tokio::io::duplex(4096);
        let (out_w, _out_r) = tokio::io::duplex(4096);
        let mut lines = Lines::new(server_in, out_w, None);
        client.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,").await.unwrap();
        // rmcp drops a pending receive when another event comes first.
        let got = tokio::select! {
            biased;
            m = lines.receive() => Some(m),
            _ = std::future::ready(()) => None,
        };
        assert!(got.is_none(), "half a line is not a message");
        client.write_all(b"\"method\":\"ping\"}\n").await.unwrap();
        let message = lines.receive().await.expect("the whole line");
        assert_eq!(method(&message), "ping");
    }

    #[tokio::test]
    async fn replies_to_garbage_are_let_go_once_written() {
        let (mut client, server_in) = tokio::io::duplex(4096);
        let (out_w, _out_r) = tokio::io::duplex(1 << 20);
        let mut lines = Lines::new(server_in, out_w, None);
        for _ in 0..100 {
            client.write_all(b"not json\n").await.unwrap();
            // receive reads the line, starts its reply and waits for more input.
            let got = tokio::select! {
                biased;
                m = lines.receive() => Some(m),
                _ = std::future::ready(()) => None,
            };
            assert!(got.is_none());
            // The reply's task runs.
            tokio::task::yield_now().await;
        }
        assert!(lines.replies.len() <= 2, "{} replies still held", lines.replies.len());
    }

    #[tokio::test]
    async fn a_line_of_the_largest_size_is_read_and_one_byte_more_is_refused() {
        let mut input = vec![b'x'; MAX_LINE];
        input.push(b'\n');
        input.extend(std::iter::repeat_n(b'y', MAX_LINE + 1));
        input.extend_from_slice(b"\nnext\n");
        let (out_w, _out_r) = tokio::io::duplex(4096);
        let mut lines = Lines::new(input.as_slice(), out_w, None);
        assert!(matches!(lines.next_line().await, Next::Line));
        assert_eq!(lines.line.len(), MAX_LINE + 1, "the line and its newline");
        lines.line.clear();
        assert!(matches!(lines.next_line().await, Next::TooLong));
        assert!(lines.line.is_empty());
        assert!(matches!(lines.next_line().await, Next::Line));
        assert_eq!(lines.line, b"next\n");
    }

    #[tokio::test]
    async fn a_sent_message_is_one_line_on_the_output() {
        let (out_w, mut out_r) = tokio::io::duplex(4096);
        let mut lines = Lines::new(tokio::io::empty(), out_w, None);
        let pong: TxJsonRpcMessage<RoleServer> =
            serde_json::from_value(serde_json::json!({"jsonrpc": "2.0", "id": 3, "result": {}})).unwrap();
        lines.send(pong).await.unwrap();
        drop(lines);
        let mut written = String::new();
        out_r.read_to_string(&mut written).await.unwrap();
        assert_eq!(written, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n");
    }

    #[test]
    fn tool_calls_read_directly_equal_rmcps_reading() {
        use rmcp::model::RequestMetaObject;
        // (line, whether the direct reader takes it)
        let cases: &[(&str, bool)] = &[
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"readonly_query","arguments":{"sql":"SELECT 1"}}}"#,
                true,
            ),
            (
                r#"{"method":"tools/call","params":{"arguments":{"sql":"x","params":[1,"a",null,{"k":[2]}]},"name":"transact"},"id":"abc","jsonrpc":"2.0"}"#,
                true,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"progressToken":"p-1","other":{"a":1}},"name":"get_schema","arguments":{}}}"#,
                true,
            ),
            (r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"_meta":null,"name":"get_schema"}}"#, true),
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"t","arguments":null,"unknownField":[1]}}"#,
                true,
            ),
            (r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t","requestState":"s"}}"#, true),
            (r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"t"},"extra":1}"#, false),
            (r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#, false),
            (r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"arguments":{}}}"#, false),
            (r#"{"jsonrpc":"2.0","id":9,"id":10,"method":"tools/call","params":{"name":"t"}}"#, false),
            (r#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"t"},"result":{}}"#, false),
            (r#"{"jsonrpc":"1.0","id":12,"method":"tools/call","params":{"name":"t"}}"#, false),
            (r#"{"jsonrpc":"2.0","id":13,"method":"tools/list","params":{"name":"tools/call"}}"#, false),
            (r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}}"#, false),
        ];
        for (line, direct) in cases {
            let fast = tool_call(line.as_bytes());
            assert_eq!(fast.is_some(), *direct, "{line}");
            let Some(fast) = fast else { continue };
            let general: RxJsonRpcMessage<RoleServer> = serde_json::from_str(line).expect(line);
            assert_eq!(serde_json::to_value(&fast).unwrap(), serde_json::to_value(&general).unwrap(), "{line}");
            let (JsonRpcMessage::Request(fast), JsonRpcMessage::Request(general)) = (fast, general) else {
                panic!("{line}: not a request")
            };
            assert_eq!(fast.id, general.id, "{line}");
            let (ClientRequest::CallToolRequest(fast), ClientRequest::CallToolRequest(general)) =
                (fast.request, general.request)
            else {
                panic!("{line}: not a tool call")
            };
            assert_eq!(fast.params, general.params, "{line}");
            assert_eq!(
                fast.extensions.get::<RequestMetaObject>(),
                general.extensions.get::<RequestMetaObject>(),
                "{line}: the progress token and other _meta"
            );
        }
    }
}
