/** Entry of the bundled `deaddrop` command (dist-node/deaddrop.js): runs the CLI on the process arguments. */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
