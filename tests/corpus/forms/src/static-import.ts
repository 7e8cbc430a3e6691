import * as ort from 'onnxruntime-web'; // ortfix-expect: jsep-import error
import { InferenceSession, Tensor } from "onnxruntime-web"; // ortfix-expect: jsep-import error
import ortDefault from'onnxruntime-web'; // ortfix-expect: jsep-import error
import type { Tensor as T } from 'onnxruntime-web';
import { type Env } from 'onnxruntime-web';
export type { InferenceSession as S } from 'onnxruntime-web';
type Module = typeof import('onnxruntime-web');
declare module 'onnxruntime-web' {}
