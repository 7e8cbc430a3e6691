import { pipeline } from '@huggingface/transformers';
import { KokoroTTS } from 'kokoro-js';
export const p = await pipeline('feature-extraction', 'm', { device: 'wasm' });
export const tts = await KokoroTTS.from_pretrained('m', { device: 'wasm' });
