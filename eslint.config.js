// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const AWS_OR_CDK = ['@aws-sdk/*', 'aws-lambda', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', '@aws-lambda-powertools/*'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'coverage/**', '.local/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // `import { z }` pulls every zod locale into each Lambda bundle (~450 KB); the namespace import tree-shakes.
      'no-restricted-syntax': ['error', { selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']", message: "use `import * as z from 'zod'`: it keeps Lambda bundles small." }],
    },
  },
  {
    // The domain core and the registry are pure: no AWS SDK, no Lambda types, no CDK.
    files: ['lib/domain/**/*.ts', 'lib/registry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: AWS_OR_CDK, message: 'lib/domain and lib/registry are pure: no AWS SDK, aws-lambda or CDK imports.' }],
        },
      ],
    },
  },
);
