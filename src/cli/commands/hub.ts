/** `nwb-settings hub`: the WebSocket settings hub alone, until SIGINT/SIGTERM (docs/protocol.md). */
import type { CommandModule } from "yargs";
import { DEFAULT_HUB_PORT } from "../../app/record/record-session.js";
import { HubServer } from "../../producer/hub/hub-server.js";
import { type CommandContext, UsageError } from "../context.js";
import { checkPort, listenErrorText } from "../option-checks.js";
import { untilSignal } from "../shared-options.js";

interface HubArgs {
  host: string;
  port: number;
}

export function hubCommand(ctx: CommandContext): CommandModule<object, HubArgs> {
  return {
    command: "hub",
    describe: "Run the WebSocket settings hub that components publish to and recorders read",
    builder: (y) =>
      y
        .option("host", { type: "string", default: "127.0.0.1", describe: "Interface to bind (127.0.0.1: this machine only)" })
        .option("port", { type: "number", default: DEFAULT_HUB_PORT, describe: "TCP port (0: a free one)" })
        .check((a) => {
          checkPort("--port", a.port);
          if (typeof a.host !== "string" || a.host.trim() === "") throw new UsageError("--host needs an interface address (e.g. 127.0.0.1)");
          return true;
        }) as never,
    handler: async (args) => {
      const signal = untilSignal(ctx);
      const hub = await HubServer.start({ host: args.host, port: args.port, onLog: (m) => ctx.stderr.write(`${m}\n`) }).catch((err: unknown) => {
        signal.dispose();
        throw new Error(listenErrorText(err, args.port, "--port"));
      });
      ctx.stdout.write(`settings hub listening on ${hub.url} (Ctrl-C to stop)\n`);
      try {
        await signal.promise;
      } finally {
        signal.dispose();
        const stats = hub.stats();
        await hub.close();
        ctx.stdout.write(`hub stopped: ${stats.components} components, last seq ${stats.lastSeq}\n`);
      }
    },
  };
}
