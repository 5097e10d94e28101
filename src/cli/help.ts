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
  audit            Not available yet

Options:
  -h, --help       Print this help, or a command's help after the command
  -v, --version    Print the respguard version

Run "respguard <command> --help" for the options of a command.
`,

  run: `Usage: respguard [run] --config FILE

Starts the proxy with the configuration in FILE and runs until SIGTERM or SIGINT,
which close it gracefully within the config's shutdownTimeoutMs. SIGHUP reloads
FILE: a valid file replaces the users, ACL rules and blocklist; an invalid one is
logged and the running configuration stays.

Options:
  -c, --config FILE   Path of the YAML config file (required)
  -h, --help          Print this help

Exit status: 0 after a graceful shutdown, 1 when the config is invalid or the
proxy cannot start.
`,

  'check-config': `Usage: respguard check-config FILE

Loads FILE as respguard would at start-up, compiles every user's ACL rules and the
blocklist, and prints "FILE: OK (N listeners, M users)". Errors go to standard
error, one per line.

Options:
  -h, --help   Print this help

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

Checks COMMAND with its arguments against the ACL rules of user NAME and the
blocklist in FILE, without connecting to Redis. Prints "OK" when respguard would
forward the command, or the error reply that the client would get.

Options:
  -c, --config FILE   Path of the YAML config file (required)
  -u, --user NAME     User whose rules are checked (required)
  -h, --help          Print this help

Exit status: 0 when the command is allowed, 1 when it is denied or the config is
invalid, 2 when the user is not defined.
`,

  audit: `Usage: respguard audit --url URL

Not available yet.

Options:
  --url URL    Redis server to audit
  -h, --help   Print this help
`,
};
