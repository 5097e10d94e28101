/**
 * Help texts of the `respguard` command and its subcommands, printed by `--help`.
 */

/** Help text of each command, by the name used on the command line. */
export const HELP: Readonly<Record<string, string>> = {
  respguard: `Usage: respguard [run] --config FILE
       respguard <command> [options]

A TLS-terminating, authenticating proxy in front of Redis.

Commands:
  run              Start the proxy (the default command)
  check-config     Validate a config file and compile its ACL rules
  hash-password    Print the "#<sha256>" form of a password, for ACL rules
  dryrun           Show whether a user may run a command, and the reply if not
  audit            Report weak security settings of a live Redis server

Options:
  -h, --help       Print this help, or a command's help after the command
  -v, --version    Print the respguard version

Run "respguard <command> --help" for the options of a command.
`,

  run: `Usage: respguard [run] --config FILE
       respguard run FILE

Starts the proxy with the configuration in FILE and runs until SIGTERM or SIGINT,
which close it gracefully: it stops accepting clients, answers every request
already received, and closes within the config's shutdownTimeoutMs.

SIGHUP, and any change of FILE, reloads it: a valid file replaces the users, ACL
rules and blocklist; an invalid one is logged and the running configuration
stays. Changes of listeners, upstream, metrics and workers need a restart.

With "workers: N" (or "auto", one per CPU core), this process starts N worker
processes that share the listeners, replaces a worker that exits, and passes
SIGHUP and SIGTERM on to them. With "metrics: {host, port}", it serves
/metrics (all workers summed), /healthz and /readyz on that address.

Options:
  -c, --config FILE   Path of the YAML config file (required, unless given as FILE)
  -h, --help          Print this help

Exit status: 0 after a graceful shutdown, 1 when the config is invalid or the
proxy cannot start.
`,

  'check-config': `Usage: respguard check-config FILE
       respguard check-config --config FILE

Loads FILE as respguard would at start-up, compiles every user's ACL rules and the
blocklist, and prints "FILE: OK (N listeners, M users)". Errors go to standard
error, one per line. Warnings about valid but weak settings (plaintext listeners
and passwords, nopass users, users allowed everything or MONITOR, an empty
blocklist, unverified upstream TLS, limits below 1 MiB, report-only users, users
allowed to run scripts) also go to standard error and do not change the exit
status.

Options:
  -c, --config FILE   Path of the YAML config file, in place of the FILE argument
  -h, --help          Print this help

Exit status: 0 when the config is valid, 1 otherwise.
`,

  'hash-password': `Usage: respguard hash-password < password.txt

Reads one password from standard input (the first line, without its line ending)
and prints "#<sha256 hex>", which an ACL rule accepts in place of ">password" so
that the config file does not contain the password. On a terminal, it prompts
without echoing what you type.

Options:
  -h, --help   Print this help

Exit status: 0 on success, 1 when the password is empty.
`,

  dryrun: `Usage: respguard dryrun --config FILE --user NAME -- COMMAND [ARG ...]
       respguard dryrun FILE --user NAME -- COMMAND [ARG ...]

Checks COMMAND with its arguments against the ACL rules of user NAME and the
blocklist in FILE, without connecting to Redis. Prints "OK" when respguard would
forward the command, or one line starting with "denied:", "blocked:" or
"rejected:" that names the rule, key or channel involved and the error reply that
the client would get.

Options:
  -c, --config FILE   Path of the YAML config file (required, unless FILE is given
                      as the one argument before --)
  -u, --user NAME     User whose rules are checked (required)
  -h, --help          Print this help

Exit status: 0 when the command is allowed, 1 when it is denied, blocked or
invalid, 2 for a usage error, an invalid config or an unknown user.
`,

  audit: `Usage: respguard audit --url URL [--ca FILE] [--cert FILE --key FILE] [--json]

Connects to a live Redis server and reports its weak security settings, each with
a severity (high, medium, low) and the fix: no password or a default user with
nopass, protected mode off, listening on all interfaces, no TLS, users allowed
every command on every key or dangerous commands, dangerous commands that are
not renamed or disabled, and DEBUG, MODULE or protected settings enabled.

It reads settings with CONFIG GET, users with ACL LIST, and commands with
COMMAND INFO, and lists every check that the user was not allowed to make. It
never reads requirepass or masterauth, and never prints a password.

Options:
  --url URL     redis://[USER:PASSWORD@]HOST[:PORT], or rediss://... for TLS;
                without a password in the URL, REDISCLI_AUTH is used if set
  --ca FILE     PEM file of the CA that signs the server certificate (TLS)
  --cert FILE   PEM client certificate, for servers that require one (TLS)
  --key FILE    PEM private key of --cert
  --json        Print the report as JSON
  -h, --help    Print this help

Exit status: 0 without high severity findings, 1 with at least one, 2 for a
usage error, 3 when the server cannot be reached, rejects the credentials, or
requires a password that was not given (the report then covers anonymous
access only).
`,
};
