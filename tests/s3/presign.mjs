// Prints the URL @aws-sdk/s3-request-presigner makes for one request, with
// a fixed clock: node presign.mjs METHOD ENDPOINT BUCKET KEY REGION UNIX_SECONDS EXPIRES [PART UPLOAD_ID]
import { S3Client, GetObjectCommand, PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const [method, endpoint, bucket, key, region, now, expires, part, uploadId] = process.argv.slice(2);
const client = new S3Client({
  region,
  endpoint,
  forcePathStyle: true,
  // No checksum parameters: chirp does not send them (the SDK would sign a
  // CRC32 of an empty body into every UploadPart URL).
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
});
let command;
if (part) command = new UploadPartCommand({ Bucket: bucket, Key: key, PartNumber: Number(part), UploadId: uploadId });
else if (method === "PUT") command = new PutObjectCommand({ Bucket: bucket, Key: key });
else command = new GetObjectCommand({ Bucket: bucket, Key: key });
const url = await getSignedUrl(client, command, {
  expiresIn: Number(expires),
  signingDate: new Date(Number(now) * 1000),
});
console.log(url);
