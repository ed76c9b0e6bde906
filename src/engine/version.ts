// The engine's version (reported by `hello` and `tensorscope --version`): the package's.
import pkg from '../../package.json';

export const ENGINE_VERSION: string = pkg.version;
