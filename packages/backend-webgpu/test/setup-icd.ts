/**
 * Without a GPU, Dawn runs on SwiftShader's software Vulkan (Debian's chromium package ships
 * the ICD, libvulkan1 the loader): point the Vulkan loader at it when the caller has not
 * chosen an ICD. Imported first by every test file, before any device is requested.
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
