// Placeholder until the sample service lands (issue 6): `npm start` must work on a fresh machine.
console.log('nest-mqtt-async sample: coming soon. Run `npm test` to exercise the codec and driver.');
