//! Generic code written against `unisock::asynch::SendStack` is spawnable on tokio's
//! multi-threaded runtime (its futures are `Send`), and the posix async sockets work there:
//! an echo server task per connection, 64 clients at once, every byte checked.

use std::net::SocketAddr;
use std::time::Duration;

use unisock::asynch::{SendStack, SendStreamListener, SendStreamSocket};
use unisock::{RecvFlags, Shutdown, Socket};
use unisock_posix::asynch::TokioStack;

/// Accept forever, one spawned task per connection echoing until end of stream.
///
/// `S::Error: Send` is spelled out: `SendStack` does not imply it (reported on issue 10), and
/// a spawned task's output must be `Send`.
async fn serve<S: SendStack + 'static>(mut listener: S::TcpListener) -> Result<(), S::Error>
where
    S::Error: Send,
{
    loop {
        let (mut conn, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.recv(&mut buf, RecvFlags::NONE).await?;
                if n == 0 {
                    return conn.shutdown(Shutdown::Write);
                }
                conn.send_all(&buf[..n]).await?;
            }
        });
    }
}

/// Send 16 KiB of a pattern unique to `id`, half-close, read it all back.
async fn client<S: SendStack>(stack: S, at: SocketAddr, id: u8) -> Result<(), S::Error> {
    let mut c = stack.connect(at).await?;
    let data: Vec<u8> = (0..16 * 1024).map(|i| (i as u8) ^ id).collect();
    c.send_all(&data).await?;
    c.shutdown(Shutdown::Write)?;
    let mut back = vec![0u8; data.len() + 1];
    let mut got = 0;
    loop {
        let n = c.recv(&mut back[got..], RecvFlags::NONE).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    assert_eq!(&back[..got], &data[..], "client {id}: echo differs");
    Ok(())
}

#[test]
fn generic_send_code_runs_on_the_multi_threaded_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let stack = TokioStack::new();
        let listener = stack.listen("127.0.0.1:0".parse().unwrap(), 128).unwrap();
        let at = listener.local_addr().unwrap();
        let server = tokio::spawn(serve::<TokioStack>(listener));
        let clients: Vec<_> = (0..64u8)
            .map(|id| tokio::spawn(client(stack, at, id)))
            .collect();
        let all = async {
            for c in clients {
                c.await.expect("client task").expect("client");
            }
        };
        tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .expect("clients timed out");
        server.abort();
    });
}
