//! A TCP proxy between the server under test and PostgreSQL, for counting and shaping what crosses the network.
//!
//! - It can add a one-way delay to every chunk in both directions (benchmarks: a cluster 20 ms away).
//! - On plaintext connections it reads the PostgreSQL protocol: it counts the client's requests (each `Sync` or
//!   simple `Query` asks for one `ReadyForQuery`) and the server's `ReadyForQuery` answers.
//! - It can hold the server's answers (`hold`), so a test can see that every request of a call reached the
//!   database before the client saw any answer — that is one round trip — then deliver them (`release`), or cut
//!   every client connection instead (`cut`: the database did the work, the client never hears of it).
//!
//! Plain threads and blocking sockets: it must not share a runtime with the code it measures.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the proxy has seen so far, over all connections.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub connections: u64,
    /// Client `Sync` and `Query` messages.
    pub requests: u64,
    /// Client `Parse` messages: a statement PostgreSQL parses and plans (a kept, prepared one is only bound).
    pub parses: u64,
    /// Server `ReadyForQuery` messages.
    pub ready: u64,
    /// Times a client started sending again after the server had sent it something.
    pub turns: u64,
    /// Bytes the clients sent (startup and TLS negotiation included).
    pub bytes_to_server: u64,
}

#[derive(Default)]
struct State {
    counters: Counters,
    hold: bool,
    /// Held server→client bytes per connection, and each connection's client-side socket.
    held: Vec<(usize, Vec<u8>)>,
    clients: Vec<Option<TcpStream>>,
    /// Per connection: did the server speak last?
    server_spoke_last: Vec<bool>,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    accepting: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Proxy {
    /// Stop listening (the port is free again); open connections keep flowing until their ends close.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.accepting.take() {
            let _ = thread.join();
        }
    }
}

/// A safety net for waits on the proxy's counters, not a synchronisation device.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

impl Proxy {
    /// Listen on a free port of 127.0.0.1 and forward to `target_port`, delaying each chunk by `delay` each way.
    pub fn start(target_port: u16, delay: Duration) -> Proxy {
        Self::start_on(0, target_port, delay)
    }

    pub fn start_on(listen_port: u16, target_port: u16, delay: Duration) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", listen_port)).expect("proxy: bind");
        let port = listener.local_addr().unwrap().port();
        let shared: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let accept_shared = shared.clone();
        let stop: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let stopping = stop.clone();
        let accepting = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else { continue };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let id = {
                    let mut st = accept_shared.0.lock().unwrap();
                    st.counters.connections += 1;
                    st.clients.push(client.try_clone().ok());
                    st.server_spoke_last.push(false);
                    st.clients.len() - 1
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = accept_shared.clone();
                std::thread::spawn(move || pump(id, client, server, delay, Direction::ToServer, up));
                let down = accept_shared.clone();
                std::thread::spawn(move || pump(id, s2, c2, delay, Direction::ToClient, down));
            }
        });
        Proxy { port, shared, stop, accepting: Some(accepting) }
    }

    pub fn counters(&self) -> Counters {
        self.shared.0.lock().unwrap().counters
    }

    /// From now on, keep the server's answers instead of delivering them.
    pub fn hold(&self) {
        self.shared.0.lock().unwrap().hold = true;
    }

    /// Wait until the counters satisfy `pred`; panics with `what` after a minute.
    pub fn wait_until(&self, what: &str, pred: impl Fn(&Counters) -> bool) -> Counters {
        let (lock, cv) = &*self.shared;
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut st = lock.lock().unwrap();
        while !pred(&st.counters) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "proxy: gave up waiting for {what}; counters: {:?}", st.counters);
            st = cv.wait_timeout(st, left).unwrap().0;
        }
        st.counters
    }

    /// Deliver what was held and stop holding.
    pub fn release(&self) {
        let mut st = self.shared.0.lock().unwrap();
        st.hold = false;
        let held = std::mem::take(&mut st.held);
        for (id, bytes) in held {
            if let Some(Some(c)) = st.clients.get_mut(id) {
                let _ = c.write_all(&bytes);
            }
        }
    }

    /// Drop what was held and close every client connection: the database did the work, the client never
    /// hears of it.
    pub fn cut(&self) {
        let mut st = self.shared.0.lock().unwrap();
        st.hold = false;
        st.held.clear();
        for c in st.clients.iter_mut().filter_map(Option::take) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToServer,
    ToClient,
}

/// PostgreSQL message framing of one direction: a type byte and a length, except the client's first message.
struct Framing {
    awaiting_startup: bool,
    buf: Vec<u8>,
}

impl Framing {
    /// Feed bytes; returns the type bytes of the messages completed.
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(bytes);
        let mut types = Vec::new();
        loop {
            if self.awaiting_startup {
                // StartupMessage, SSLRequest, CancelRequest: a length and a body, no type byte.
                if self.buf.len() < 4 {
                    break;
                }
                let len = u32::from_be_bytes(self.buf[0..4].try_into().unwrap()) as usize;
                if self.buf.len() < len {
                    break;
                }
                self.buf.drain(..len);
                self.awaiting_startup = false;
                continue;
            }
            if self.buf.len() < 5 {
                break;
            }
            let len = u32::from_be_bytes(self.buf[1..5].try_into().unwrap()) as usize;
            if self.buf.len() < 1 + len {
                break;
            }
            types.push(self.buf[0]);
            self.buf.drain(..1 + len);
        }
        types
    }
}

fn pump(
    id: usize,
    mut from: TcpStream,
    to: TcpStream,
    delay: Duration,
    dir: Direction,
    shared: Arc<(Mutex<State>, Condvar)>,
) {
    let mut framing = Framing { awaiting_startup: dir == Direction::ToServer, buf: Vec::new() };
    // A delayed direction writes from its own thread, in order, each chunk when it is due.
    let delayed = (!delay.is_zero()).then(|| {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let mut to = to.try_clone().unwrap();
        std::thread::spawn(move || {
            for (due, bytes) in rx {
                // A sleep ends ~0.2 ms late here (timer slack, waking an idle core), which would add ~0.4 ms to
                // every simulated round trip: sleep to shortly before the due time, then yield until it.
                let early = Duration::from_micros(500);
                let now = Instant::now();
                if due > now + early {
                    std::thread::sleep(due - now - early);
                }
                while Instant::now() < due {
                    std::thread::yield_now();
                }
                if to.write_all(&bytes).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
        tx
    });
    let mut to = to;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let types = framing.feed(chunk);
        let deliver_now = {
            let (lock, cv) = &*shared;
            let mut st = lock.lock().unwrap();
            match dir {
                Direction::ToServer => {
                    st.counters.bytes_to_server += n as u64;
                    if st.server_spoke_last[id] {
                        st.counters.turns += 1;
                        st.server_spoke_last[id] = false;
                    }
                    st.counters.requests += types.iter().filter(|t| matches!(t, b'S' | b'Q')).count() as u64;
                    st.counters.parses += types.iter().filter(|t| **t == b'P').count() as u64;
                }
                Direction::ToClient => {
                    st.server_spoke_last[id] = true;
                    st.counters.ready += types.iter().filter(|t| **t == b'Z').count() as u64;
                }
            }
            cv.notify_all();
            let hold = dir == Direction::ToClient && st.hold;
            if hold {
                match st.held.iter_mut().find(|(c, _)| *c == id) {
                    Some((_, bytes)) => bytes.extend_from_slice(chunk),
                    None => st.held.push((id, chunk.to_vec())),
                }
            }
            !hold
        };
        if !deliver_now {
            continue;
        }
        let sent = match &delayed {
            Some(tx) => tx.send((Instant::now() + delay, chunk.to_vec())).is_ok(),
            None => to.write_all(chunk).is_ok(),
        };
        if !sent {
            break;
        }
    }
    if delayed.is_none() {
        let _ = to.shutdown(Shutdown::Write);
    }
}
