// Electron entry point (package.json "main"): starts the menu-bar app.
import { startApp } from './app.js';

void startApp();
