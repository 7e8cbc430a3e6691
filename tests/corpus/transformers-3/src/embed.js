import { pipeline } from '@huggingface/transformers';
export const embedder = await pipeline('feature-extraction', 'Xenova/all-MiniLM-L6-v2', { device: 'webgpu', dtype: 'q8' });
