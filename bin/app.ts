#!/usr/bin/env node
/** The CDK entry point (`cdk.json` runs it with tsx, no compile step). */
import { buildApp } from '../lib/app.js';

buildApp().app.synth();
