/** Entry of the bundled `deaddrop` command (dist-node/deaddrop.js): runs the CLI on the process arguments. */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Done: a request the engine could not finish closing (cliEngine.ts `close`) must not keep the process
// alive. The timer does not itself hold the process; stdout, a pipe or file, is written synchronously.
setTimeout(() => process.exit(code), 500).unref();
