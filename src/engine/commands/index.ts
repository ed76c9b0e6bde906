// The registry of CLI subcommands; cli.ts dispatches on the first argument.
import type { Command } from './command';
import { umapCommand } from './umap';
import { pcaCommand } from './pca';
import { knnCommand } from './knn';
import { inspectCommand } from './inspect';
import { statsCommand } from './stats';
import { sliceCommand } from './slice';
import { serveCommand } from './serve';
import { compareCommand } from './compare';
import { textconvCommand } from './textconv';
import { diffCommand } from './diff';
import { applyCommand } from './apply';
import { verifyCommand } from './verify';
import { revertCommand } from './revert';
import { composeCommand } from './compose';

export const COMMANDS: Command[] = [
  // each module in this folder adds its command here
  inspectCommand,
  statsCommand,
  sliceCommand,
  serveCommand,
  compareCommand,
  textconvCommand,
  diffCommand,
  applyCommand,
  verifyCommand,
  revertCommand,
  composeCommand,
  umapCommand,
  pcaCommand,
  knnCommand,
];
