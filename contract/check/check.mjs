// Reads contract/asyncapi.yaml as a downstream team would: the AsyncAPI parser validates it and
// resolves every schema file it refers to, and Modelina generates Go types from it. It fails on
// any parser error, on a channel or message count that differs from the one given, and when a
// generated model lacks a field the contract's data schema names.
import { Parser, fromFile } from '@asyncapi/parser';
import { GoGenerator } from '@asyncapi/modelina';

const [file, wantChannels] = process.argv.slice(2);
const { document, diagnostics } = await fromFile(new Parser(), file).parse();
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of errors) console.error(`error: ${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
if (errors.length || !document) process.exit(1);
const channels = document.channels().length;
const messages = document.allMessages().length;
console.log(`parsed: ${channels} channels, ${messages} messages, ${diagnostics.length} notes`);
if (String(channels) !== wantChannels || String(messages) !== wantChannels) {
  console.error(`want ${wantChannels} channels and messages`);
  process.exit(1);
}
const models = await new GoGenerator().generate(document);
const claim = models.find((m) => /^type ReimbursementDotSubmitted struct/m.test(m.result));
if (!claim || !/ClaimId string/.test(claim.result) || !/SubmittedDate string/.test(claim.result)) {
  console.error('no Go model of reimbursement.submitted data with ClaimId and SubmittedDate');
  process.exit(1);
}
console.log(`generated ${models.length} Go models, among them:\n${claim.result}`);
