/**
 * The simulated plugin `sim-00` as a plugin module, so a real instance of it can run beside the
 * simulated ones (`switchyard plugin bench/discovery/sim_00.ts`): the test that checks a router cannot
 * tell them apart compares the two.
 * @module
 */
import { simPlugin } from "./sim_plugins.ts";

export default simPlugin("sim-00");
