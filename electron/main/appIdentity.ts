/**
 * The app's identity as the OS sees it. Must equal `appId` and `productName` in electron-builder.yml
 * (test/electron checks): Windows shows notifications only for the installer's AppUserModelID.
 */
export const APP_ID = 'org.deaddrop.desktop';
export const PRODUCT_NAME = 'Deaddrop';
