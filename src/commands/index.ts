/** Every CLI command, in the order `--help` lists them. */
import type { Command } from "commander";
import type { CommandContext } from "./context.js";
import * as audit from "./audit.js";
import * as build from "./build.js";
import * as doctor from "./doctor.js";
import * as image from "./image.js";
import * as inspect from "./inspect.js";
import * as matrix from "./matrix.js";
import * as packageCommand from "./package.js";
import * as patch from "./patch.js";
import * as pin from "./pin.js";
import * as resolve from "./resolve.js";
import * as verify from "./verify.js";

export const COMMANDS: { register(program: Command, ctx: CommandContext): void }[] = [
  resolve,
  inspect,
  patch,
  build,
  image,
  audit,
  verify,
  pin,
  packageCommand,
  matrix,
  doctor,
];
