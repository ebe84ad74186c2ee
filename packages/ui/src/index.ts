export { SignInForm, type SignInCalls, type SignInFormProps, type SignInStep } from './SignInForm';
