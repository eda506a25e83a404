/**
 * `login`, `logout`, `auth token`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

const registry = Args.text({ name: "registry" }).pipe(
  Args.withDescription("a registry host, e.g. ghcr.io or localhost:5000")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const login = Command.make(
  "login",
  {
    registry,
    username: Options.text("username").pipe(
      Options.withAlias("u"),
      Options.withDescription("user name"),
      Options.optional
    ),
    password: Options.redacted("password").pipe(
      Options.withAlias("p"),
      Options.withDescription(
        "password (visible in the process list and shell history: prefer --password-stdin; without either, " +
          "the password is asked for on the terminal)"
      ),
      Options.optional
    ),
    passwordStdin: Options.boolean("password-stdin").pipe(Options.withDescription("read the password from stdin"))
  },
  (args) => withOps((ops, globals) => ops.login(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Check credentials and store them in docker's config.json",
  details: "Stored through docker's credential helper when one is configured, where docker, crane, oras and " +
    "skopeo find them too.",
  examples: ["echo \"$TOKEN\" | ocidist login ghcr.io -u me --password-stdin", "ocidist login localhost:5000 -u admin"]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const logout = Command.make(
  "logout",
  { registry },
  (args) => withOps((ops, globals) => ops.logout(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Remove a registry's credentials from docker's config.json",
  details: "From its credential helper too, when one is configured.",
  examples: ["ocidist logout ghcr.io", "ocidist logout localhost:5000"]
})))

const token = Command.make(
  "token",
  {
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the repository the token is for")),
    push: Options.boolean("push").pipe(Options.withDescription("ask for pull and push access (default: pull)"))
  },
  (args) => withOps((ops, globals) => ops.token(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Print a bearer token for a repository, for scripts",
  details: "From the stored credentials, for pull access (with --push, push access too), to use with curl.",
  examples: [
    "TOKEN=$(ocidist auth token ghcr.io/org/app)",
    "curl -H \"Authorization: Bearer $(ocidist auth token localhost:5000/app)\" http://localhost:5000/v2/app/tags/list"
  ]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const auth = Command.make("auth").pipe(
  Command.withDescription(describe({
    summary: "Authentication helpers",
    examples: ["ocidist auth token ghcr.io/org/app"]
  })),
  Command.withSubcommands([token])
)
