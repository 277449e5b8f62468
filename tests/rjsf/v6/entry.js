import React from 'react';
import ReactDOM from 'react-dom/client';
import { flushSync } from 'react-dom';
import Form from '@rjsf/core';
import { customizeValidator } from '@rjsf/validator-ajv8';
import Ajv2020 from 'ajv/dist/2020';
import { version } from './node_modules/@rjsf/core/package.json';
import { install } from '../page.js';

install({ React, ReactDOM, flushSync, Form, customizeValidator, Ajv2020, version });
