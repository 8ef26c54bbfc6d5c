package store

import (
	"sync"

	"github.com/klauspost/compress/s2"
)

// mailDict is the S2 dictionary of codecS2Dict: text that recurs in mail
// a Norwegian contact point receives and sends (header lines of Exchange
// Online, Gmail, Apple Mail and Thunderbird, MIME boilerplate, reply
// quote headers, greetings, our own headers). A ~3 KB mail has too little
// text of its own for a compressor to find repeats in; with these bytes
// as history, header names and boilerplate become short back-references.
//
// NEVER CHANGE THIS TEXT: stored values depend on it byte for byte. A
// better dictionary gets a new codec byte and a new constant.
const mailDict = "" +
	"Received: from mail.example.no (mail.example.no [129.240.10.58])\r\n\tby mx.example.no (Postfix) with ESMTPS id\r\n\tfor <integrasjon@uio.no>; Mon, 24 Nov 2025 10:15:42 +0100 (CET)\r\n" +
	"Received: from smtp.gmail.com with ESMTPSA id ; Tue, 25 Nov 2025 09:03:11 -0800 (PST)\r\n" +
	"Received: by mail-lj1-f170.google.com with SMTP id 38308e7fff4ca-for <integrasjon@uio.no>; Wed, 26 Nov 2025 01:02:03 -0800 (PST)\r\n" +
	"Received: from AM9PR05MB.eurprd05.prod.outlook.com (2603:10a6:20b::) by\r\n DB9PR05MB.eurprd05.prod.outlook.com (2603:10a6:10:) with\r\n Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n 15.20.8182.; Thu, 27 Nov 2025 08:30:00 +0000\r\n" +
	"Received: from localhost (localhost [127.0.0.1]) with ESMTP id; Fri, 28 Nov 2025 12:00:00 +0100\r\n" +
	"Return-Path: <>\r\nDelivered-To: integrasjon@uio.no\r\nX-Original-To: integrasjon@uio.no\r\n" +
	"ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none;\r\n b=\r\n" +
	"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;\r\n s=arcselector10001;\r\n h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-AntiSpam-MessageData-ChunkCount:X-MS-Exchange-AntiSpam-MessageData-0:X-MS-Exchange-AntiSpam-MessageData-1;\r\n bh=\r\n" +
	"ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass\r\n smtp.mailfrom=uio.no; dmarc=pass action=none header.from=uio.no; dkim=pass\r\n header.d=uio.no; arc=none\r\n" +
	"Authentication-Results: mx.uio.no; dkim=pass (2048-bit key; unprotected) header.d=gmail.com header.i=@gmail.com header.b=; dmarc=pass (p=none dis=none) header.from=gmail.com; spf=pass smtp.mailfrom=\r\n" +
	"Authentication-Results: spf=pass (sender IP is ) smtp.mailfrom=; dkim=pass (signature was verified) header.d=;dmarc=pass action=none header.from=;compauth=pass reason=100\r\n" +
	"Received-SPF: Pass (protection.outlook.com: domain of designates as permitted sender) receiver=protection.outlook.com; client-ip=; helo=;\r\n" +
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n        d=gmail.com; s=20230601; t=; x=; darn=uio.no;\r\n        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject\r\n         :date:message-id:reply-to;\r\n        bh=;\r\n        b=\r\n" +
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=uio.no; s=selector1;\r\n h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck;\r\n bh=;\r\n b=\r\n" +
	"X-Google-DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\nX-Gm-Message-State: \r\nX-Google-Smtp-Source: \r\nX-Received: by 2002:a05:; \r\n" +
	"X-MS-Exchange-Organization-AuthAs: Anonymous\r\nX-MS-Exchange-Organization-AuthSource: \r\nX-MS-Exchange-Organization-SCL: 1\r\nX-MS-Exchange-CrossTenant-OriginalArrivalTime: \r\nX-MS-Exchange-CrossTenant-FromEntityHeader: Hosted\r\nX-MS-Exchange-CrossTenant-Id: \r\nX-MS-Exchange-Transport-CrossTenantHeadersStamped: \r\nX-MS-PublicTrafficType: Email\r\nX-MS-TrafficTypeDiagnostic: \r\nX-MS-Office365-Filtering-Correlation-Id: \r\nX-Microsoft-Antispam: BCL:0;ARA:13230040|1800799024|366016|376014|38070700018;\r\nX-Microsoft-Antispam-Message-Info: \r\nX-Forefront-Antispam-Report: CIP:;CTRY:NO;LANG:nb;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:;PTR:;CAT:NONE;SFS:;DIR:INB;\r\nX-MS-Exchange-AntiSpam-MessageData-ChunkCount: 1\r\nX-MS-Exchange-AntiSpam-MessageData-0: \r\n" +
	"Thread-Topic: \r\nThread-Index: \r\nAccept-Language: nb-NO, en-US\r\nContent-Language: nb-NO\r\nX-MS-Has-Attach: yes\r\nX-MS-Has-Attach: \r\nX-MS-TNEF-Correlator: \r\nmsip_labels: \r\nx-ms-publictraffictype: Email\r\n" +
	"X-Mailer: iPhone Mail (22B83)\r\nX-Mailer: Apple Mail (2.3826.200.121)\r\nMime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.200.121\\))\r\nUser-Agent: Mozilla Thunderbird\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Type: text/plain; charset=us-ascii\r\n" +
	"Auto-Submitted: auto-replied\r\nAuto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\nX-Kontaktpunkt-Loop: \r\nPrecedence: bulk\r\nList-Unsubscribe: <mailto:>\r\nX-Autoreply: yes\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status;\r\nContent-Type: message/delivery-status\r\nReporting-MTA: dns; \r\nFinal-Recipient: rfc822; \r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <>: Recipient address rejected: User unknown in virtual mailbox table\r\nContent-Type: message/rfc822\r\nContent-Type: text/rfc822-headers\r\nFrom: Mail Delivery System <MAILER-DAEMON@>\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
	"From: \r\nTo: Kontaktpunkt integrasjon <integrasjon@uio.no>\r\nCc: \r\nReply-To: \r\nSubject: Re: [INT#] \r\nSubject: SV: \r\nSubject: VS: \r\nSubject: Fwd: \r\nDate: Mon, 24 Nov 2025 10:15:42 +0000\r\nMessage-ID: <@eurprd05.prod.outlook.com>\r\nMessage-ID: <@mail.gmail.com>\r\nIn-Reply-To: <>\r\nReferences: <>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"_000_\"\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"_004_\"\r\nContent-Type: multipart/related;\r\n\tboundary=\"_005_\";\r\n\ttype=\"multipart/alternative\"\r\nContent-Type: multipart/alternative; boundary=\"0000000000\"\r\n" +
	"Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: 8bit\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Type: text/html; charset=\"UTF-8\"\r\nContent-Type: application/pdf; name=\"\"\r\nContent-Description: \r\nContent-Disposition: attachment; filename=\"\"; size=; creation-date=\"\"; modification-date=\"\"\r\nContent-Type: image/png; name=\"image001.png\"\r\nContent-Disposition: inline; filename=\"image001.png\"\r\nContent-ID: <image001.png@01DB>\r\n" +
	"<html><head>\r\n<meta http-equiv=3D\"Content-Type\" content=3D\"text/html; charset=3Dutf-8\">\r\n<style type=3D\"text/css\" style=3D\"display:none;\"> P {margin-top:0;margin-bottom:0;} </style>\r\n</head>\r\n<body dir=3D\"ltr\">\r\n<div class=3D\"elementToProof\" style=3D\"font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);\">\r\n</div>\r\n<div id=3D\"appendonsend\"></div>\r\n<hr style=3D\"display:inline-block;width:98%\" tabindex=3D\"-1\">\r\n<div id=3D\"divRplyFwdMsg\" dir=3D\"ltr\"><font face=3D\"Calibri, sans-serif\" style=3D\"font-size:11pt\" color=3D\"#000000\"><b>Fra:</b> <br>\r\n<b>Sendt:</b> <br>\r\n<b>Til:</b> <br>\r\n<b>Emne:</b> </font>\r\n<div>&nbsp;</div>\r\n</div>\r\n</body>\r\n</html>\r\n" +
	"<div dir=\"ltr\"><div>Hei,</div><div><br></div><div></div></div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">On Mon, Nov 24, 2025 at 10:15 AM &lt;<a href=\"mailto:integrasjon@uio.no\">integrasjon@uio.no</a>&gt; wrote:<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">\r\n" +
	"<p class=3D\"MsoNormal\"><span lang=3D\"NO-BOK\" style=3D\"font-size:11.0pt;font-family:&quot;Calibri&quot;,sans-serif\">&nbsp;<o:p></o:p></span></p>\r\n" +
	"-----Original Message-----\r\n________________________________\r\nFra: \r\nSendt: mandag 24. november 2025 10:15\r\nTil: \r\nKopi: \r\nEmne: SV: \r\nFrom: \r\nSent: Monday, November 24, 2025 10:15 AM\r\nTo: \r\nSubject: RE: \r\n> \r\n> On Mon, 24 Nov 2025 at 10:15, wrote:\r\n" +
	"Hei,\r\n\r\nTakk for henvendelsen. Vi har registrert saken og kommer tilbake til deg s=C3=A5 snart som mulig.\r\n\r\nVi har problemer med integrasjonen mellom og . Kan dere hjelpe oss med =C3=A5 finne ut hva som er feil?\r\n\r\nMed vennlig hilsen\r\n\r\nVennlig hilsen\r\n\r\nMvh\r\n\r\nBest regards\r\n\r\nUniversitetet i Oslo\r\nUSIT, Seksjon for integrasjon og elektroniske tjenester\r\nTelefon: +47 22 85 \r\nE-post: \r\n=C3=A6 =C3=B8 =C3=A5 =C3=86 =C3=98 =C3=85 =\r\n"

// mailS2Dict is mailDict prepared for S2 (hash tables built on first
// use), made on first use so that commands that neither read nor write
// compressed records do not pay for it at start-up.
var mailS2Dict = sync.OnceValue(func() *s2.Dict { return s2.MakeDict([]byte(mailDict), []byte("Received: from")) })
