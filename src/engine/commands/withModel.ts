// Opens the model a CLI command names, runs the command's work on it, and closes it.
import { resolve } from 'node:path';
import { openModel, type Model } from '../safetensors/model';

export async function withModel<T>(file: string, work: (model: Model) => Promise<T>): Promise<T> {
  const model = await openModel(resolve(file));
  try {
    return await work(model);
  } finally {
    await model.close();
  }
}
