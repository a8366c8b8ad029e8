//! The DSQL connection path against a real TLS PostgreSQL: the role password is the exact token the server signs
//! under fixed keys and clock, so a connection only works if the token, TLS verification and hostaddr all do.

mod dsql_support;

use std::time::Duration;

use aurora_dsql_mcp_server::auth::TokenSource;
use aurora_dsql_mcp_server::pool::dsql::{
    DsqlPool, DsqlPoolSettings, auth_error, build_pool_with_source, explain_connect_error,
};
use aws_credential_types::Credentials;
use deadpool_postgres::PoolError;
use dsql_support::waking::{WAKING_MESSAGE, WakingProxy};
use dsql_support::{
    DSQL_NAME, PgCluster, SECRET, expected_token, fixed_time, free_port, pool_settings, source_at, token_settings,
};
use tokio_postgres::error::SqlState;

fn pool_for(cluster: &PgCluster, endpoint_name: &str, user: &str) -> DsqlPool {
    let settings = pool_settings(cluster, endpoint_name, user);
    let source = source_at(&settings.token.endpoint, user, SECRET, fixed_time());
    build_pool_with_source(settings, source).expect("pool")
}

async fn backend_pid(pool: &DsqlPool) -> i32 {
    let client = pool.pool.get().await.unwrap_or_else(|e| panic!("{}", explain_connect_error(&e)));
    client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn connects_with_the_exact_token_over_verified_tls() {
    let pg = PgCluster::start();
    pg.create_role("app", &expected_token("app").await);
    let pool = pool_for(&pg, DSQL_NAME, "app");
    assert_eq!(pool.pool.status().size, 0, "nothing connects before the first checkout");

    let client = pool.pool.get().await.unwrap_or_else(|e| panic!("{}\n{}", explain_connect_error(&e), pg.log()));
    let ssl: bool =
        client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(ssl, "the session must be encrypted");
    let row = client
        .query_one("SELECT current_user::text, current_database()::text, current_setting('application_name')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "app");
    assert_eq!(row.get::<_, String>(1), "postgres");
    assert_eq!(row.get::<_, String>(2), format!("{}/{}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")));
    assert_eq!(pool.source.tokens_issued(), 1);
}

#[tokio::test]
async fn admin_signs_db_connect_admin_and_other_roles_db_connect() {
    let pg = PgCluster::start();
    let admin_token = expected_token("admin").await;
    assert!(admin_token.contains("?Action=DbConnectAdmin&"), "{admin_token}");
    pg.create_role("admin", &admin_token);
    let app_token = expected_token("app").await;
    assert!(app_token.contains("?Action=DbConnect&"), "{app_token}");
    // `reader`'s password is a DbConnectAdmin token: a DbConnect-signing client must not get in.
    pg.create_role("reader", &admin_token);

    backend_pid(&pool_for(&pg, DSQL_NAME, "admin")).await;
    let err = pool_for(&pg, DSQL_NAME, "reader").pool.get().await.unwrap_err();
    assert_eq!(sqlstate(&err), Some(SqlState::INVALID_PASSWORD));
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_a_clear_tls_error() {
    let pg = PgCluster::start();
    pg.create_role("app", &expected_token("app").await);
    let mut settings = pool_settings(&pg, DSQL_NAME, "app");
    settings.ssl_root_cert = Some(pg.other_ca_file.clone());
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let pool = build_pool_with_source(settings.clone(), source.clone()).unwrap();
    let text = explain_connect_error(&pool.pool.get().await.unwrap_err());
    for needle in [
        format!("TLS verification of {DSQL_NAME} failed"),
        format!("the CA file {}", pg.other_ca_file.display()),
        "not signed by".to_string(),
        "--ssl-root-cert".to_string(),
        "no plaintext fallback".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in: {text}");
    }
    assert_eq!(source.tokens_issued(), 1, "a certificate error is not retried");

    // Without --ssl-root-cert only the bundled Amazon roots are trusted, which never signed the test CA.
    settings.ssl_root_cert = None;
    let pool = build_pool_with_source(settings, source).unwrap();
    let text = explain_connect_error(&pool.pool.get().await.unwrap_err());
    assert!(text.contains("Amazon roots bundled with the server (webpki-roots)"), "{text}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_even_through_hostaddr() {
    let pg = PgCluster::start();
    let other_name = "zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws";
    let settings = pool_settings(&pg, other_name, "app");
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    // Even with the right password on the server, the name check must stop the connection first.
    pg.create_role("app", &source.token().await.unwrap());
    let pool = build_pool_with_source(settings, source).unwrap();
    let err = pool.pool.get().await.unwrap_err();
    assert_eq!(sqlstate(&err), None, "TLS failed before any authentication");
    let text = explain_connect_error(&err);
    assert!(text.contains(&format!("TLS verification of {other_name} failed")), "{text}");
    assert!(text.contains(&format!("not issued for {other_name}")), "{text}");
    assert!(text.contains(DSQL_NAME), "the certificate's real name is shown: {text}");
}

#[tokio::test]
async fn wrong_or_expired_tokens_report_the_sqlstate_and_the_iam_hint() {
    let pg = PgCluster::start();
    pg.create_role("app", &expected_token("app").await);
    let endpoint = format!("{DSQL_NAME}:{}", pg.port);
    let cases = [
        ("wrong secret", source_at(&endpoint, "app", "not-the-secret", fixed_time())),
        ("other clock", source_at(&endpoint, "app", SECRET, fixed_time() - Duration::from_secs(86_400))),
    ];
    for (case, source) in cases {
        let pool = build_pool_with_source(pool_settings(&pg, DSQL_NAME, "app"), source.clone()).unwrap();
        let err = pool.pool.get().await.unwrap_err();
        assert_eq!(sqlstate(&err), Some(SqlState::INVALID_PASSWORD), "{case}");
        let text = explain_connect_error(&err);
        for needle in
            ["SQLSTATE 28P01", "dsql:DbConnect", "dsql:DbConnectAdmin", "AWS IAM GRANT", "--token-expiry", "clock"]
        {
            assert!(text.contains(needle), "{case}: missing {needle:?} in: {text}");
        }
        assert!(!text.contains("X-Amz-Signature"), "{case}: the token must not leak into messages");
        assert_eq!(source.tokens_issued(), 1, "{case}: authentication failures are not retried");
    }
}

#[tokio::test]
async fn connections_past_their_lifetime_are_replaced_with_a_fresh_token() {
    let pg = PgCluster::start();
    pg.create_role("app", &expected_token("app").await);

    let long_lived = pool_for(&pg, DSQL_NAME, "app");
    let first = backend_pid(&long_lived).await;
    assert_eq!(backend_pid(&long_lived).await, first, "a young connection is reused");
    assert_eq!(long_lived.source.tokens_issued(), 1);

    let mut settings = pool_settings(&pg, DSQL_NAME, "app");
    settings.max_lifetime = Duration::ZERO;
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let short_lived = build_pool_with_source(settings, source).unwrap();
    let first = backend_pid(&short_lived).await;
    let second = backend_pid(&short_lived).await;
    assert_ne!(first, second, "an aged connection is retired, not reused");
    assert_eq!(short_lived.source.tokens_issued(), 2, "the replacement signed its own token");
    assert_eq!(short_lived.pool.status().size, 1, "the retired connection left the pool");
}

#[tokio::test]
async fn a_connection_that_died_while_idle_is_replaced_on_checkout() {
    let pg = PgCluster::start();
    pg.create_role("app", &expected_token("app").await);
    let mut settings = pool_settings(&pg, DSQL_NAME, "app");
    settings.ping_if_idle_for = Duration::ZERO;
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let pool = build_pool_with_source(settings, source).unwrap();
    let first = backend_pid(&pool).await;
    // The second argument makes PostgreSQL wait until the backend is gone.
    assert_eq!(pg.psql(&format!("SELECT pg_terminate_backend({first}, 10000)")).trim(), "t");
    let second = backend_pid(&pool).await;
    assert_ne!(first, second);
    assert_eq!(pool.source.tokens_issued(), 2);
}

#[tokio::test]
async fn a_waking_cluster_is_retried_until_it_answers() {
    let pg = PgCluster::start();
    pg.create_role("app", &expected_token("app").await);
    let proxy = WakingProxy::start(pg.port, &pg.server_cert, 2).await;
    let mut settings = pool_settings(&pg, DSQL_NAME, "app");
    settings.token.endpoint = format!("{DSQL_NAME}:{}", proxy.port);
    settings.wake_retry_budget = Duration::from_secs(60);
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let pool = build_pool_with_source(settings, source).unwrap();
    backend_pid(&pool).await;
    assert_eq!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(pool.source.tokens_issued(), 3, "each attempt signs a fresh token");
}

#[tokio::test]
async fn a_cluster_that_stays_asleep_is_reported_after_the_budget() {
    let pg = PgCluster::start();
    let proxy = WakingProxy::start(pg.port, &pg.server_cert, usize::MAX).await;
    let mut settings = pool_settings(&pg, DSQL_NAME, "app");
    settings.token.endpoint = format!("{DSQL_NAME}:{}", proxy.port);
    settings.wake_retry_budget = Duration::from_millis(700);
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let pool = build_pool_with_source(settings, source).unwrap();
    let err = pool.pool.get().await.unwrap_err();
    let text = explain_connect_error(&err);
    assert!(text.contains(WAKING_MESSAGE) && text.contains("retry the call shortly"), "{text}");
    assert!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2, "retried before giving up");
}

/// Settings for a port where nothing (or only a test front) listens.
fn settings_for_port(port: u16) -> DsqlPoolSettings {
    let mut settings = DsqlPoolSettings::new(token_settings(&format!("{DSQL_NAME}:{port}"), "app"));
    settings.hostaddr = Some("127.0.0.1".into());
    settings.wake_retry_budget = Duration::from_millis(700);
    settings
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported_with_the_target() {
    // Bound but never listening: the port stays reserved for this test and every connect is refused.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let settings = settings_for_port(port);
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let pool = build_pool_with_source(settings, source.clone()).unwrap();
    let err = pool.pool.get().await.unwrap_err();
    let text = explain_connect_error(&err);
    assert!(text.contains(&format!("cannot reach {DSQL_NAME}:{port} (via --hostaddr 127.0.0.1)")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(source.tokens_issued() >= 2, "retried within the budget");
}

#[tokio::test]
async fn a_server_that_declines_tls_gets_no_plaintext_fallback() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        sock.read_exact(&mut request).await.unwrap();
        sock.write_all(b"N").await.unwrap();
        let mut rest = Vec::new();
        sock.read_to_end(&mut rest).await.unwrap();
        (request, rest)
    });
    let settings = settings_for_port(port);
    let source = source_at(&settings.token.endpoint, "app", SECRET, fixed_time());
    let pool = build_pool_with_source(settings, source).unwrap();
    let text = explain_connect_error(&pool.pool.get().await.unwrap_err());
    assert!(text.contains("refused TLS") && text.contains("no plaintext fallback"), "{text}");
    let (request, rest) = server.await.unwrap();
    assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], "the first bytes are an SSLRequest");
    assert!(rest.is_empty(), "nothing (no startup, no token) may follow in plaintext: {rest:?}");
}

#[tokio::test]
async fn unusable_credentials_surface_as_an_auth_error_through_the_pool() {
    let settings = settings_for_port(free_port());
    // Credentials that expired before the fixed clock: the source refuses to sign, nothing is dialled.
    let expiry = fixed_time() - Duration::from_secs(5);
    let creds = Credentials::new("ASIAEXAMPLE", "s", Some("t".into()), Some(expiry), "test");
    let source = TokenSource::with_static(settings.token.clone(), creds, Some(fixed_time()));
    let pool = build_pool_with_source(settings, source).unwrap();
    let err = pool.pool.get().await.unwrap_err();
    assert!(auth_error(&err).is_some(), "{err}");
    let text = explain_connect_error(&err);
    assert!(text.starts_with("cannot create a DSQL auth token: the AWS credentials"), "{text}");
    assert!(text.contains("aws sso login"), "{text}");
}

fn sqlstate(err: &PoolError) -> Option<SqlState> {
    match err {
        PoolError::Backend(e) => e.code().cloned(),
        _ => None,
    }
}
