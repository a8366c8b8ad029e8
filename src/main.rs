//! Entry point: parse flags, log to stderr, serve MCP on stdin/stdout until EOF or a signal, then leave the local
//! sandbox cleanly.

use std::process::ExitCode;

use clap::Parser;
use rmcp::ServiceExt;

use aurora_dsql_mcp_server::cli::{self, EXE};
use aurora_dsql_mcp_server::config::{self, Cli, Command, ServerArgs, Target, TokenArgs};
use aurora_dsql_mcp_server::server::DsqlServer;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `call` prints a result for a person: the tool's own errors come with it, so the log shows only errors.
    let default_filter = if matches!(cli.command, Some(Command::Call(_))) { "error" } else { "info,rmcp=warn" };
    cli::logging::init(default_filter);
    // One thread: a call is a chain of short steps (read stdin, check, write to the database, read its answer, write
    // stdout), and on a multi-thread runtime each step can land on another thread, costing a wake-up of a sleeping
    // one (measured: ~30% more CPU per `SELECT 1` call). Work that takes long runs on blocking threads instead:
    // large checks, dsql_lint, migration plans, the sandbox's start and stop.
    // Blocking threads check and lint SQL: give them room beyond what the depth limit needs (defence in depth).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_stack_size(aurora_dsql_mcp_server::sql::STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{EXE}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Some(Command::Token(args)) => token(args).await,
            Some(Command::Call(_)) if cli::call::flags_before_call(&cli.server) => {
                eprintln!(
                    "{EXE}: put the server flags after the tool and its arguments, e.g. \
                     {EXE} call readonly_query '{{\"sql\":\"SELECT 1\"}}' --local"
                );
                ExitCode::from(2)
            }
            Some(Command::Call(args)) => cli::call::run(*args).await,
            None => serve(cli.server).await,
        }
    })
}

async fn serve(args: ServerArgs) -> ExitCode {
    let clusters = match config::clusters(&args) {
        Ok(clusters) => clusters,
        Err(e) => {
            eprintln!("{EXE}: {e}");
            return ExitCode::from(2);
        }
    };
    let local: Vec<_> = clusters.iter().filter(|e| matches!(e.settings.target, Target::Local { .. })).collect();
    if let (false, Some(why)) = (local.is_empty(), aurora_dsql_mcp_server::platform::LOCAL_MODE_UNAVAILABLE) {
        eprintln!("{EXE}: {why}");
        return ExitCode::from(2);
    }
    match aurora_dsql_mcp_server::http::Options::from_args(&args) {
        Ok(None) => {}
        Ok(Some(http)) => {
            let make_server = {
                let clusters = clusters.clone();
                move || DsqlServer::serving(clusters.clone())
            };
            let describe = cli::banner::lines(&clusters).join("\n");
            // One process serves many clients: connect (or start each sandbox) now, not at the first call.
            clusters.warm_up();
            let code =
                aurora_dsql_mcp_server::http::serve(http, make_server, clusters.stopping.clone(), &describe).await;
            clusters.shutdown().await;
            return code;
        }
        Err(e) => {
            eprintln!("{EXE}: {e}");
            return ExitCode::from(2);
        }
    }
    let server = DsqlServer::serving(clusters.clone());
    cli::banner::announce_all(&clusters);
    for env in local {
        // Start each sandbox now, while the client initialises, so the first query does not wait for it.
        let env = env.clone();
        tokio::spawn(async move {
            if let Err(e) = env.database().await {
                tracing::error!("local sandbox of cluster {}: {e}", env.settings.cluster);
            }
        });
    }
    let running = match server
        .serve(aurora_dsql_mcp_server::server::stdio::transport_watching(clusters.stopping.clone()))
        .await
    {
        Ok(running) => running,
        Err(e) => {
            // stdin closed before the client initialised: a clean exit, not an error.
            tracing::info!("no MCP session ({e}); exiting");
            clusters.shutdown().await;
            return ExitCode::SUCCESS;
        }
    };
    let cancel = running.cancellation_token();
    let waiting = tokio::spawn(running.waiting());
    tokio::select! {
        _ = aurora_dsql_mcp_server::platform::wait_for_stop_signal() => {
            tracing::info!("signal received: shutting down");
            clusters.stopping.cancel();
            cancel.cancel();
        }
        result = waiting => {
            if let Ok(Err(e)) = result {
                tracing::warn!("MCP session ended with an error: {e}");
            }
        }
    }
    clusters.shutdown().await;
    tracing::info!("bye");
    ExitCode::SUCCESS
}

/// `token`: print an IAM auth token on stdout, like `aws dsql generate-db-connect-auth-token`, for the cluster the
/// server would reach with the same flags and environment.
async fn token(args: TokenArgs) -> ExitCode {
    let resolved = if args.config.is_some() || args.cluster.is_some() {
        // A named cluster of a `--config` file: its table says endpoint, region, user and profile.
        config::target::token_command_from_file(&args)
    } else {
        config::target::token_command(&args, &config::target::process_env).map_err(|missing| {
            let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
            format!("give the {}", missing.join("; and the "))
        })
    };
    let cmd = match resolved {
        Ok(cmd) => cmd,
        Err(why) => {
            eprintln!("{EXE} token: {why}");
            return ExitCode::from(2);
        }
    };
    match aurora_dsql_mcp_server::auth::token_command(cmd).await {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{EXE} token: {e}");
            ExitCode::FAILURE
        }
    }
}
